"""Create NETcare's synthetic demo world: centres, practices and one user per role.

Every name and number here is invented. Running it again changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from netcare.demo import seed_demo


class Command(BaseCommand):
    help = "Seed the synthetic demo centre, practices and users (refused when DEBUG is off)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed even though DEBUG is off (never on a live system).")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo refuses to run with DEBUG off; pass --force to insist.")
        with transaction.atomic():
            created = seed_demo()
        from django.utils import timezone

        from netcare.demo_courses import settle_demo_tasks

        settled = settle_demo_tasks(timezone.localdate())
        if settled:
            created.append(f"{settled} past care tasks marked done")
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {', '.join(created)}."))
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        self.stdout.write(
            f"Demo logins (password {settings.NETCARE_DEMO_PASSWORD}): "
            "navigator, specialist, oncologist, oncologist2, admin"
        )
