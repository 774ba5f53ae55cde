"""The audit table is append-only in the database itself: a trigger refuses UPDATE and DELETE of
its rows whatever issues them (here the ORM's queryset .update() and .delete(), which bypass the
model's own save() and delete() guards), on PostgreSQL and on the SQLite of `make run`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from netcare import audit
from netcare.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_postgresql_refuses_update_and_delete_of_audit_rows(navigator, patient):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL trigger; the suite runs on PostgreSQL under make test")
    event = audit.record_view(actor=navigator, obj=patient)
    rows = AuditEvent.objects.filter(pk=event.pk)
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        rows.update(note="tampered")
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        rows.delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE netcare_auditevent SET actor_id = NULL")
    assert AuditEvent.objects.get(pk=event.pk).note == ""
    # Adding rows goes on as before.
    audit.record_view(actor=navigator, obj=patient)
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_the_trigger_is_in_place_after_migrating(navigator):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's catalogue")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger "
                       "WHERE tgrelid = 'netcare_auditevent'::regclass AND NOT tgisinternal")
        assert [name for (name,) in cursor.fetchall()] == ["netcare_auditevent_append_only"]


SQLITE_PROBE = """
import django
django.setup()
from django.db import DatabaseError
from netcare import audit
from netcare.models import AuditEvent

event = audit.record(actor=None, action="login_failed", note="kept")
for attempt in (lambda: AuditEvent.objects.filter(pk=event.pk).update(note="tampered"),
                lambda: AuditEvent.objects.filter(pk=event.pk).delete()):
    try:
        attempt()
    except DatabaseError as exc:
        print("refused:", exc)
print("note:", AuditEvent.objects.get(pk=event.pk).note)
"""


def test_sqlite_refuses_update_and_delete_of_audit_rows(tmp_path):
    """The embedded run's database, migrated from scratch in a separate process."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "NETCARE_REQUIRE_SERVICES")}
    env.update({"DEBUG": "1", "NETCARE_VAR_DIR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "netcare.settings"})
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    probe = subprocess.run([sys.executable, "-c", SQLITE_PROBE], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [
        "refused: netcare_auditevent is append-only: UPDATE refused",
        "refused: netcare_auditevent is append-only: DELETE refused",
        "note: kept",
    ]
