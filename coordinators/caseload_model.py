"""The caseload's read model: one row per patient on a centre's caseload (CaseloadEntry) for the
centre's day (CaseloadDay), holding what the unfiltered caseload counts and ranks, so its first
page reads 25 rows of an index instead of every open task and cycle of the centre.

It is never trusted blindly. Database triggers (migration coordinators 0009) mark a patient
stale (CaseloadStale) whenever anything writes one of their care tasks, cycles, courses or their
record; before each read, :func:`refresh` computes the stale patients' entries again, and every
entry of the centre when its day has changed (a task falls overdue, a snooze ends, with no write
at all). The entries are computed by the same conditions as the live reads
(:mod:`coordinators.caseload_sql`), and the filtered caseload is always read live.

Refreshing takes the centre's CaseloadDay row lock, so two pages of one centre never compute the
same entries at once; the lock is held for the refresh only (milliseconds), not the page. It
never waits for a writer: the marks a writer's open transaction holds are left for the refresh
after its commit.
"""

from __future__ import annotations

import datetime as dt

from django.db import OperationalError, connection, transaction

from coordinators.caseload_sql import Read, Sql, join_sql, sql_in
from coordinators.models import CaseloadDay, CaseloadEntry
from netcare.sqlrows import date_param, fetch

# Stale patients are computed again in groups of this many (bounded statement parameters).
CHUNK = 500


def refresh(read: Read, *, centre_id: int, today: dt.date) -> None:
    """Bring the centre's entries up to `today` and to every write committed so far (but the
    patients a writer is changing right now, whose marks it still holds: the next refresh
    after its commit takes them). A refresh never waits for a writer; should PostgreSQL still
    find it in a deadlock (a rare move of a patient between centres), it runs again once."""
    for attempt in (1, 2):
        try:
            _refresh(read, centre_id=centre_id, today=today)
            return
        except OperationalError as exc:
            if attempt == 2 or getattr(exc.__cause__, "pgcode", None) != DEADLOCK:
                raise


DEADLOCK = "40P01"


def _consume(where: Sql) -> list[int]:
    """Delete the stale marks matching `where` and return their patients. On PostgreSQL, a mark
    a writer holds (its transaction still open) is skipped, not waited for."""
    if connection.features.has_select_for_update_skip_locked:
        where = join_sql("patient_id IN (SELECT patient_id FROM coordinators_caseloadstale"
                         " WHERE ", where, " FOR UPDATE SKIP LOCKED)")
    statement = join_sql("DELETE FROM coordinators_caseloadstale WHERE ", where,
                         " RETURNING patient_id")
    return sorted(row[0] for row in fetch(statement.text, statement.params, [None]))


def _refresh(read: Read, *, centre_id: int, today: dt.date) -> None:
    with transaction.atomic():
        day = CaseloadDay.objects.select_for_update().filter(centre_id=centre_id).first()
        if day is None:  # the centre's first caseload (two at once: one row all the same)
            CaseloadDay.objects.bulk_create([CaseloadDay(centre_id=centre_id, as_of=None)],
                                            ignore_conflicts=True)
            day = CaseloadDay.objects.select_for_update().get(centre_id=centre_id)
        if day.as_of != today:
            _rebuild(read, centre_id=centre_id)
            day.as_of = today
            day.save(update_fields=["as_of"])
        else:
            _recompute_stale(read, centre_id=centre_id)


def _rebuild(read: Read, *, centre_id: int) -> None:
    """Every entry of the centre computed again. Patients whose entry is here but who have moved
    to another centre are marked for that centre; marks of the centre's own, and of patients
    deleted since, are consumed."""
    _consume(Sql("patient_id IN (SELECT id FROM patients_patient WHERE centre_id = %s)",
                 [centre_id]))
    _consume(Sql("patient_id NOT IN (SELECT id FROM patients_patient)", []))  # deleted ones
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO coordinators_caseloadstale (patient_id) SELECT e.patient_id "
            "FROM coordinators_caseloadentry e JOIN patients_patient p ON p.id = e.patient_id "
            "WHERE e.centre_id = %s AND p.centre_id <> %s ON CONFLICT DO NOTHING",
            [centre_id, centre_id])
        cursor.execute(
            "DELETE FROM coordinators_caseloadentry WHERE centre_id = %s OR patient_id IN "
            "(SELECT id FROM patients_patient WHERE centre_id = %s)", [centre_id, centre_id])
    _insert(read, centre_id=centre_id, patients=None)


def _recompute_stale(read: Read, *, centre_id: int) -> None:
    """The entries of the centre's stale patients (and of those who have just left it) computed
    again; a patient now at another centre is marked for that centre."""
    stale = _consume(Sql(
        "(patient_id IN (SELECT id FROM patients_patient WHERE centre_id = %s) OR patient_id IN "
        "(SELECT patient_id FROM coordinators_caseloadentry WHERE centre_id = %s))",
        [centre_id, centre_id]))
    for start in range(0, len(stale), CHUNK):
        chunk = stale[start:start + CHUNK]
        delete = join_sql("DELETE FROM coordinators_caseloadentry WHERE patient_id ",
                          sql_in(chunk))
        moved = join_sql("INSERT INTO coordinators_caseloadstale (patient_id) SELECT id"
                         " FROM patients_patient WHERE id ", sql_in(chunk),
                         Sql(" AND centre_id <> %s", [centre_id]))
        with connection.cursor() as cursor:
            cursor.execute(delete.text, delete.params)
            cursor.execute(moved.text + " ON CONFLICT DO NOTHING", moved.params)
        _insert(read, centre_id=centre_id, patients=chunk)


def _insert(read: Read, *, centre_id: int, patients: list[int] | None) -> None:
    """Insert the entries of the centre's patients on its caseload (of `patients` only, when
    given): their open tasks by bucket and their blocked cycles, as the live reads count them."""
    of_patients = (Sql("centre_id = %s", [centre_id]) if patients is None
                   else join_sql(Sql("centre_id = %s AND id ", [centre_id]), sql_in(patients)))
    ids = join_sql("(SELECT id FROM patients_patient WHERE ", of_patients, ")")

    def bucket(compare: str) -> Sql:
        return join_sql("SUM(CASE WHEN ", read.awake(compare), " THEN 1 ELSE 0 END)")

    day = date_param(read.today)
    statement = join_sql(
        "INSERT INTO coordinators_caseloadentry (patient_id, centre_id, external_id,"
        " family_name, given_name, mrn, overdue, blocked, due_today, upcoming, n_overdue,"
        " n_today, n_upcoming, n_snoozed, n_blocked)"
        " SELECT p.id, p.centre_id, p.external_id, p.family_name, p.given_name, p.mrn,"
        " CASE WHEN COALESCE(t.n_overdue, 0) > 0 THEN 1 ELSE 0 END,"
        " CASE WHEN b.patient_id IS NULL THEN 0 ELSE 1 END,"
        " CASE WHEN COALESCE(t.n_today, 0) > 0 THEN 1 ELSE 0 END,"
        " CASE WHEN COALESCE(t.n_upcoming, 0) > 0 THEN 1 ELSE 0 END,"
        " COALESCE(t.n_overdue, 0), COALESCE(t.n_today, 0), COALESCE(t.n_upcoming, 0),"
        " COALESCE(t.n_snoozed, 0), COALESCE(b.n_blocked, 0)"
        " FROM patients_patient p LEFT JOIN (SELECT t.patient_id, ",
        bucket("<"), " AS n_overdue, ", bucket("="), " AS n_today, ", bucket(">"),
        " AS n_upcoming, ",
        Sql("SUM(CASE WHEN t.snoozed_until > %s THEN 1 ELSE 0 END) AS n_snoozed", [day]),
        " FROM coordinators_caretask t WHERE t.patient_id IN ", ids, " AND ",
        read.task_conditions(), " GROUP BY t.patient_id) t ON t.patient_id = p.id",
        " LEFT JOIN (SELECT c.patient_id, COUNT(*) AS n_blocked FROM prrt_cycle y",
        " JOIN prrt_treatmentcourse c ON c.id = y.course_id WHERE c.patient_id IN ", ids,
        " AND ", read.cycle_conditions(), " GROUP BY c.patient_id) b ON b.patient_id = p.id",
        " WHERE p.id IN ", ids, " AND (t.patient_id IS NOT NULL OR b.patient_id IS NOT NULL)")
    with connection.cursor() as cursor:
        cursor.execute(statement.text, statement.params)


def counts(*, centre_id: int) -> dict[str, int]:
    """The caseload's counts from the centre's entries (after :func:`refresh`)."""
    [row] = fetch(
        "SELECT COALESCE(SUM(n_overdue), 0), COALESCE(SUM(n_today), 0), "
        "COALESCE(SUM(n_upcoming), 0), COALESCE(SUM(n_snoozed), 0), "
        "COALESCE(SUM(n_blocked), 0), COUNT(*) FROM coordinators_caseloadentry "
        "WHERE centre_id = %s", [centre_id], [None] * 6)
    return dict(zip(("overdue", "today", "upcoming", "snoozed", "blocked", "patients"),
                    (int(value) for value in row), strict=True))


def ranked(*, centre_id: int, offset: int, show: int) -> list[tuple]:
    """(id, public id, family name, given name, MRN) of the centre's patients on the caseload,
    most urgent first, rows `offset` to `offset + show` (an index's first rows)."""
    return fetch(
        "SELECT patient_id, external_id, family_name, given_name, mrn "
        "FROM coordinators_caseloadentry WHERE centre_id = %s "
        "ORDER BY overdue DESC, blocked DESC, due_today DESC, upcoming DESC, family_name, "
        "given_name, patient_id LIMIT %s OFFSET %s", [centre_id, show, offset],
        [None, CaseloadEntry._meta.get_field("external_id"), None, None, None])
