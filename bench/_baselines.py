"""Fair baselines: the bare SQL (PostgreSQL) that fetches exactly the rows and columns a page
renders, and writes the same audit rows, so a page's time is compared with the least the database
must do for it. Each returns the ids of what it fetched; tests/bench/test_baselines.py checks
they are the ids the page shows. Not a benchmark itself."""

from __future__ import annotations

import datetime as dt
import json

from psycopg2.extras import Json

UPCOMING_DAYS = 7
BLOCKED_HORIZON_DAYS = 21
ADVERSE_EVENT_DAYS = 14
PAGE_PATIENTS = 25
RECENT_LABS = 200
RECENT_ROWS = 100

_OPEN_TASKS = """
    FROM coordinators_caretask t JOIN patients_patient p ON p.id = t.patient_id
    WHERE p.centre_id = %(centre)s AND t.state = 'open'
      AND (t.due <= %(horizon)s OR t.snoozed_until > %(today)s)"""
_AWAKE = "(t.snoozed_until IS NULL OR t.snoozed_until <= %(today)s)"
_BLOCKED = """
    FROM prrt_cycle y JOIN prrt_treatmentcourse c ON c.id = y.course_id
    JOIN patients_patient p ON p.id = c.patient_id
    WHERE p.centre_id = %(centre)s AND y.state IN ('planned', 'withheld')
      AND c.state IN ('approved', 'active') AND y.planned_date <= %(blocked_by)s
      AND y.missing <> '[]'::jsonb"""


def _audit(cursor, *, actor_id: int, action: str, note: str = "", object_type: str = "",
           object_id: str = "", patient_id=None, changes=None, ip: str = "127.0.0.1") -> int:
    cursor.execute(
        "INSERT INTO netcare_auditevent (at, actor_id, action, object_type, object_id, "
        "patient_id, changes, note, ip_address, by_system) "
        "VALUES (now(), %s, %s, %s, %s, %s, %s, %s, %s, false) RETURNING id",
        [actor_id, action, object_type, object_id, patient_id, Json(changes or {}), note, ip])
    return cursor.fetchone()[0]


def caseload(cursor, *, centre_id: int, actor_id: int, today: dt.date,
             show: int = PAGE_PATIENTS) -> dict[str, list]:
    """The caseload's first page for a navigator of `centre_id`: the counts, the patients in
    order (with their number), the open tasks and blocked cycles of the `show` first, the
    recent serious adverse events, and the audit row naming the patients shown."""
    params = {"centre": centre_id, "today": today,
              "horizon": today + dt.timedelta(days=UPCOMING_DAYS),
              "blocked_by": today + dt.timedelta(days=BLOCKED_HORIZON_DAYS), "show": show,
              "since": dt.datetime.now(dt.UTC) - dt.timedelta(days=ADVERSE_EVENT_DAYS)}
    cursor.execute(
        f"SELECT count(*) FILTER (WHERE {_AWAKE} AND t.due < %(today)s), "
        f"count(*) FILTER (WHERE {_AWAKE} AND t.due = %(today)s), "
        f"count(*) FILTER (WHERE {_AWAKE} AND t.due > %(today)s), "
        f"count(*) FILTER (WHERE t.snoozed_until > %(today)s) {_OPEN_TASKS}", params)
    overdue, due_today, upcoming, snoozed = cursor.fetchone()
    cursor.execute(f"SELECT count(*) {_BLOCKED}", params)
    blocked = cursor.fetchone()[0]
    cursor.execute(
        f"""WITH tasks AS (
              SELECT t.patient_id,
                     bool_or({_AWAKE} AND t.due < %(today)s) AS overdue,
                     bool_or({_AWAKE} AND t.due = %(today)s) AS due_today,
                     bool_or({_AWAKE} AND t.due > %(today)s) AS upcoming
              {_OPEN_TASKS} GROUP BY t.patient_id),
            blocked AS (SELECT DISTINCT c.patient_id {_BLOCKED})
            SELECT p.id, p.external_id, p.family_name, p.given_name, p.mrn, count(*) OVER ()
            FROM patients_patient p LEFT JOIN tasks ON tasks.patient_id = p.id
            LEFT JOIN blocked ON blocked.patient_id = p.id
            WHERE p.centre_id = %(centre)s
              AND (tasks.patient_id IS NOT NULL OR blocked.patient_id IS NOT NULL)
            ORDER BY coalesce(tasks.overdue, false) DESC, blocked.patient_id IS NOT NULL DESC,
                     coalesce(tasks.due_today, false) DESC, coalesce(tasks.upcoming, false) DESC,
                     p.family_name, p.given_name, p.id
            LIMIT %(show)s""", params)
    patients = cursor.fetchall()
    shown = _shown(cursor, params, patients, actor_id=actor_id)
    return {"counts": [overdue, due_today, upcoming, snoozed, blocked,
                       patients[0][5] if patients else 0],
            "patients": [row[0] for row in patients], **shown}


def _shown(cursor, params: dict, patients: list[tuple], *, actor_id: int) -> dict[str, list]:
    """The open tasks and blocked cycles of the `patients` shown, the recent serious adverse
    events, and the audit row naming the patients shown."""
    ids = [row[0] for row in patients]
    params["ids"] = ids
    cursor.execute(
        """SELECT t.id, t.external_id, t.patient_id, t.kind, t.cycle, t.sequence, t.due,
                   t.latest, t.snoozed_until, t.reason, t.appointment_at, t.appointment_place,
                   t.appointment_note, t.owner_party, u.first_name, u.last_name, u.username,
                   c.state, c.external_id, ce.time_zone,
                   CASE WHEN t.kind = 'rebook_cycle' THEN
                     (SELECT y.external_id FROM prrt_cycle y
                      WHERE y.course_id = t.course_id AND y.number = t.cycle LIMIT 1) END
            FROM coordinators_caretask t JOIN prrt_treatmentcourse c ON c.id = t.course_id
            JOIN netcare_centre ce ON ce.id = c.centre_id
            LEFT JOIN netcare_user u ON u.id = t.owner_user_id
            WHERE t.patient_id = ANY(%(ids)s) AND t.state = 'open'
              AND (t.due <= %(horizon)s OR t.snoozed_until > %(today)s)
            ORDER BY t.due, t.kind, t.cycle, t.sequence, t.id""", params)
    tasks = cursor.fetchall()
    cursor.execute(
        f"""SELECT y.id, y.external_id, y.number, y.planned_date, y.missing, c.patient_id,
                   c.state {_BLOCKED} AND c.patient_id = ANY(%(ids)s)
            ORDER BY y.planned_date, y.id""", params)
    cycles = cursor.fetchall()
    cursor.execute(
        """SELECT a.id, a.ctcae_grade, a.term, a.category, a.onset_on, p.external_id,
                  p.family_name, p.given_name, r.first_name, r.last_name, r.username
           FROM patients_adverseevent a JOIN patients_patient p ON p.id = a.patient_id
           LEFT JOIN netcare_user r ON r.id = a.reported_by_id
           WHERE p.centre_id = %(centre)s AND a.ctcae_grade >= 3
             AND a.reported_at >= %(since)s
           ORDER BY a.reported_at DESC LIMIT 50""", params)
    events = cursor.fetchall()
    if patients:
        event = _audit(cursor, actor_id=actor_id, action="list", note="caseload",
                       changes={"count": len(patients)})
        cursor.execute(
            "INSERT INTO netcare_auditeventpatient (event_id, patient_id) "
            "SELECT %s, unnest(%s::uuid[])", [event, [str(row[1]) for row in patients]])
    return {"tasks": [row[0] for row in tasks], "cycles": [row[0] for row in cycles],
            "adverse_events": [row[0] for row in events]}


def caseload_from_entries(cursor, *, centre_id: int, actor_id: int, today: dt.date,
                          show: int = PAGE_PATIENTS) -> dict[str, list]:
    """The caseload's first page as the page reads it now: from its read model (the centre's
    CaseloadEntry rows, after checking its day and consuming no stale mark), then the same
    tasks, cycles, adverse events and audit rows as :func:`caseload`. Not the fair baseline of
    the figures (that computes the page from the records, as a page without a read model must):
    it measures what the framework adds to the read model's own SQL."""
    params = {"centre": centre_id, "today": today,
              "horizon": today + dt.timedelta(days=UPCOMING_DAYS),
              "blocked_by": today + dt.timedelta(days=BLOCKED_HORIZON_DAYS), "show": show,
              "since": dt.datetime.now(dt.UTC) - dt.timedelta(days=ADVERSE_EVENT_DAYS)}
    cursor.execute("SELECT as_of FROM coordinators_caseloadday WHERE centre_id = %(centre)s "
                   "FOR UPDATE", params)
    assert cursor.fetchone() == (today,), "the read model is computed for another day"
    cursor.execute(
        "DELETE FROM coordinators_caseloadstale WHERE patient_id IN "
        "(SELECT id FROM patients_patient WHERE centre_id = %(centre)s) OR patient_id IN "
        "(SELECT patient_id FROM coordinators_caseloadentry WHERE centre_id = %(centre)s) "
        "RETURNING patient_id", params)
    assert cursor.fetchall() == [], "the read model has stale patients"
    cursor.execute(
        "SELECT sum(n_overdue), sum(n_today), sum(n_upcoming), sum(n_snoozed), sum(n_blocked), "
        "count(*) FROM coordinators_caseloadentry WHERE centre_id = %(centre)s", params)
    counts = list(cursor.fetchone())
    cursor.execute(
        "SELECT patient_id, external_id, family_name, given_name, mrn "
        "FROM coordinators_caseloadentry WHERE centre_id = %(centre)s ORDER BY overdue DESC, "
        "blocked DESC, due_today DESC, upcoming DESC, family_name, given_name, patient_id "
        "LIMIT %(show)s", params)
    patients = cursor.fetchall()
    shown = _shown(cursor, params, patients, actor_id=actor_id)
    return {"counts": counts, "patients": [row[0] for row in patients], **shown}


def patient_page(cursor, *, patient_id: int, actor_id: int) -> dict[str, list]:
    """The patient page: the record, the audit row, the centre's reference ranges, the latest
    lab results, the latest course with its cycles, administrations and decisions, its open
    tasks, the contact log, the SSA injections, imaging, performance status, adverse events and
    referrals, with the names of the people each shows."""
    cursor.execute(
        """SELECT p.*, ce.name, ce.time_zone, ce.rules_settings, ro.first_name, ro.last_name,
                  ro.username, po.first_name, po.last_name, po.username, tu.*
           FROM patients_patient p JOIN netcare_centre ce ON ce.id = p.centre_id
           JOIN netcare_user ro ON ro.id = p.referring_oncologist_id
           LEFT JOIN netcare_user po ON po.id = p.primary_oncologist_id
           LEFT JOIN patients_tumourprofile tu ON tu.patient_id = p.id
           WHERE p.id = %s""", [patient_id])
    patient = cursor.fetchone()
    columns = [column.name for column in cursor.description]
    external_id, centre_id = patient[columns.index("external_id")], patient[
        columns.index("centre_id")]
    _audit(cursor, actor_id=actor_id, action="view", object_type="patients.Patient",
           object_id=str(external_id), patient_id=external_id)
    cursor.execute("SELECT * FROM patients_referencerange WHERE centre_id = %s", [centre_id])
    cursor.fetchall()
    cursor.execute(
        """SELECT l.*, e.first_name, e.last_name, e.username, m.first_name, m.last_name,
                  m.username
           FROM patients_labresult l JOIN netcare_user e ON e.id = l.entered_by_id
           LEFT JOIN netcare_user m ON m.id = l.marked_in_error_by_id
           WHERE l.patient_id = %s ORDER BY l.collected_at DESC, l.id DESC LIMIT %s""",
        [patient_id, RECENT_LABS])
    labs = cursor.fetchall()
    cursor.execute(
        """SELECT y.*, c.*, a.* FROM prrt_cycle y JOIN prrt_treatmentcourse c ON c.id = y.course_id
           LEFT JOIN prrt_administration a ON a.cycle_id = y.id
           WHERE y.course_id = (SELECT id FROM prrt_treatmentcourse WHERE patient_id = %s
                                ORDER BY created_at DESC, id DESC LIMIT 1)
           ORDER BY y.number""", [patient_id])
    cycles = cursor.fetchall()
    cycle_ids = [row[0] for row in cycles]
    cursor.execute("SELECT * FROM prrt_cycledecision WHERE cycle_id = ANY(%s)", [cycle_ids])
    cursor.fetchall()
    cursor.execute(
        """SELECT t.*, u.first_name, u.last_name, u.username FROM coordinators_caretask t
           LEFT JOIN netcare_user u ON u.id = t.owner_user_id
           WHERE t.patient_id = %s AND t.state = 'open'
             AND t.course_id = (SELECT course_id FROM prrt_cycle WHERE id = ANY(%s) LIMIT 1)
           ORDER BY t.due, t.kind, t.cycle, t.sequence, t.id""", [patient_id, cycle_ids])
    tasks = cursor.fetchall()
    cursor.execute(
        """SELECT e.*, t.kind, t.cycle, t.sequence, u.first_name, u.last_name, u.username
           FROM coordinators_contactlogentry e LEFT JOIN coordinators_caretask t
             ON t.id = e.task_id JOIN netcare_user u ON u.id = e.recorded_by_id
           WHERE e.patient_id = %s ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s""",
        [patient_id, RECENT_ROWS + 1])
    contacts = cursor.fetchall()
    cursor.execute(
        """SELECT i.*, u.first_name, u.last_name, u.username FROM prrt_ssainjection i
           JOIN netcare_user u ON u.id = i.recorded_by_id
           WHERE i.patient_id = %s ORDER BY i.given_at DESC, i.id DESC LIMIT %s""",
        [patient_id, RECENT_ROWS + 1])
    injections = cursor.fetchall()
    cursor.execute("SELECT * FROM patients_imagingstudy WHERE patient_id = %s "
                   "ORDER BY performed_on DESC, id DESC", [patient_id])
    imaging = cursor.fetchall()
    cursor.execute(
        """SELECT s.*, u.first_name, u.last_name, u.username FROM patients_performancestatus s
           JOIN netcare_user u ON u.id = s.entered_by_id WHERE s.patient_id = %s
           ORDER BY s.assessed_on DESC, s.id DESC""", [patient_id])
    cursor.fetchall()
    cursor.execute(
        """SELECT a.*, u.first_name, u.last_name, u.username FROM patients_adverseevent a
           LEFT JOIN netcare_user u ON u.id = a.reported_by_id WHERE a.patient_id = %s
           ORDER BY a.onset_on DESC, a.id DESC""", [patient_id])
    cursor.fetchall()
    cursor.execute(
        """SELECT r.*, ce.name FROM referrals_referral r JOIN netcare_centre ce
           ON ce.id = r.centre_id WHERE r.patient_id = %s ORDER BY r.created_at DESC""",
        [patient_id])
    cursor.fetchall()
    return {"labs": [row[0] for row in labs], "cycles": cycle_ids,
            "tasks": [row[0] for row in tasks], "contacts": [row[0] for row in contacts],
            "injections": [row[0] for row in injections],
            "imaging": [row[0] for row in imaging]}


def as_json(ids: dict[str, list]) -> str:
    return json.dumps(ids, default=str)
