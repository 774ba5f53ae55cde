"""scripts/backup.sh and scripts/restore.sh: a backup of the database NETcare runs on, restored
into a fresh database, holds the same patients, audit rows and reminders (same ids), the audit
table is still append-only, the sequences go on after the restored ids, and NETcare's migrations
are all recorded as applied. A restore never writes over a database that has tables."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from coordinators.models import Reminder
from coordinators.plan import plan_sync
from netcare import audit
from netcare.models import AuditEvent
from patients.models import Patient
from tests.factories import PatientFactory
from tests.prrt.builders import approved_course
from tests.throwaway import libpq_url, session_database_url

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def run_script(name: str, *args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([str(ROOT / "scripts" / name), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(libpq_url(url)) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        found = cursor.fetchall()
    conn.close()
    return found


@pytest.fixture
def fresh_database():
    """An empty database beside the test database, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(libpq_url(session_database_url()))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = session_database_url().rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


PATIENTS = "SELECT id, external_id::text, mrn, family_name FROM patients_patient ORDER BY id"
AUDIT = "SELECT id, action, object_id FROM netcare_auditevent ORDER BY id"
REMINDERS = "SELECT id, key, state, send_at FROM coordinators_reminder ORDER BY id"


def test_a_backup_restores_into_a_fresh_database_with_the_same_records(
        transactional_db, centre, oncologist, specialist, navigator, fresh_database, tmp_path):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date.today() + dt.timedelta(days=30))
    plan_sync(course=course)
    for patient in [course.patient, *PatientFactory.create_batch(
            3, centre=centre, referring_oncologist=oncologist)]:
        audit.record_view(actor=navigator, obj=patient)
    source = session_database_url()
    assert Patient.objects.count() == 4
    assert AuditEvent.objects.count() >= 4
    assert Reminder.objects.filter(state="pending").exists()  # the course's scheduled reminders
    before = {sql: rows(source, sql) for sql in (PATIENTS, AUDIT, REMINDERS)}

    backup = tmp_path / "netcare.dump"
    made = run_script("backup.sh", str(backup), database_url=source)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(backup)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # patient data: its owner only
    assert not list(tmp_path.glob("*.partial"))

    restored = run_script("restore.sh", str(backup), database_url=fresh_database)
    assert restored.returncode == 0, restored.stderr
    assert "Restored: 4 patients" in restored.stdout
    for sql, expected in before.items():
        assert rows(fresh_database, sql) == expected, sql

    # The audit trail is still append-only in the restored database.
    with psycopg2.connect(libpq_url(fresh_database)) as conn, conn.cursor() as cursor:
        for statement in ("UPDATE netcare_auditevent SET note = 'tampered'",
                          "DELETE FROM netcare_auditevent"):
            with pytest.raises(psycopg2.Error, match="append-only"):
                cursor.execute(statement)
            conn.rollback()
        # New rows follow the restored ones.
        cursor.execute("SELECT nextval(pg_get_serial_sequence('netcare_auditevent', 'id'))")
        assert cursor.fetchone()[0] > max(pk for pk, _, _ in before[AUDIT])
    conn.close()

    # NETcare sees every migration applied: it can run on the restored database as it is.
    check = subprocess.run([sys.executable, "manage.py", "migrate", "--check"], cwd=ROOT,
                           env={**os.environ, "DATABASE_URL": fresh_database},
                           capture_output=True, text=True, timeout=180)
    assert check.returncode == 0, check.stdout + check.stderr

    # A second restore into the same database is refused and changes nothing.
    again = run_script("restore.sh", str(backup), database_url=fresh_database)
    assert again.returncode == 1
    assert "Refusing to restore" in again.stderr
    assert rows(fresh_database, PATIENTS) == before[PATIENTS]


def test_backup_refuses_a_database_url_that_is_not_postgresql(tmp_path):
    result = run_script("backup.sh", str(tmp_path / "x.dump"),
                        database_url=f"sqlite:///{tmp_path / 'netcare.sqlite3'}")
    assert result.returncode != 0
    assert "not a PostgreSQL URL" in result.stderr
    assert not (tmp_path / "x.dump").exists()
