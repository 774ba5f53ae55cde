"""Calendar feed tokens kept as the SHA-256 of their secret, never the secret itself.

Each stored secret is replaced by its hash: the addresses people subscribed to keep working (the
feed hashes the secret in the URL and looks the hash up), while what the database holds no
longer opens any feed. Going back cannot restore the secrets, so it deletes the tokens (everyone
makes a new address from My tasks)."""

import hashlib

from django.db import migrations, models


def hash_secrets(apps, schema_editor):
    CalendarToken = apps.get_model("coordinators", "CalendarToken")
    for token in CalendarToken.objects.all().only("pk", "token_hash"):
        token.token_hash = hashlib.sha256(token.token_hash.encode()).hexdigest()
        token.save(update_fields=["token_hash"])


def forget_tokens(apps, schema_editor):
    apps.get_model("coordinators", "CalendarToken").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("coordinators", "0004_appointments_contacts_letters_fulfilment"),
    ]

    operations = [
        migrations.RenameField(
            model_name="calendartoken",
            old_name="token",
            new_name="token_hash",
        ),
        migrations.RunPython(hash_secrets, forget_tokens, elidable=False),
        migrations.AlterField(
            model_name="calendartoken",
            name="token_hash",
            field=models.CharField(help_text="SHA-256 (hex) of the secret in the feed address.", max_length=64, unique=True),
        ),
    ]
