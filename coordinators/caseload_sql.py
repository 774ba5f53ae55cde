"""The caseload's reads written in SQL (compiling them through the ORM cost more than running
them): the open tasks and blocked cycles on the caseload of one user, day and set of filters.
The patients' scope is access.py's own condition and the search the ORM's own case-insensitive
match, both on the table ``patients_patient``; tasks are ``t``, cycles ``y``, courses ``c``.
Portable SQL: PostgreSQL and SQLite alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from coordinators.models import CareTask, OwnerParty, TaskState
from coordinators.selectors import CYCLE_PAGE_TASKS
from netcare.access import patient_scope_sql
from netcare.sqlrows import date_param, datetime_param, fetch, in_list, where_sql
from patients.models import AdverseEvent, Patient
from prrt.models import CourseState, Cycle, CycleState, TreatmentCourse

if TYPE_CHECKING:
    from coordinators.caseload import Filters

UPCOMING_DAYS = 7
BLOCKED_HORIZON_DAYS = 21
ADVERSE_EVENT_DAYS = 14

# Up to this many patients with a blocked cycle are passed to the ranking as a list of ids (read
# once); beyond, the ranking reads them again itself (a subquery).
BLOCKED_IDS_INLINE = 5000

_AWAKE = "(t.snoozed_until IS NULL OR t.snoozed_until <= %s)"


@dataclass
class Sql:
    """A piece of SQL with its parameters, in order."""

    text: str
    params: list = field(default_factory=list)


def join_sql(*parts: str | Sql) -> Sql:
    """The parts one after the other (a str: SQL without parameters)."""
    text, params = [], []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        else:
            text.append(part.text)
            params.extend(part.params)
    return Sql("".join(text), params)


def sql_in(values: list) -> Sql:
    """``IN (%s, ...)`` with `values` (at least one)."""
    return Sql(f"IN {in_list(values)}", list(values))


def model_field(model, name: str):
    return model._meta.get_field(name)


class Read:
    """The caseload's reads for one user, day and set of filters."""

    def __init__(self, user, *, today: dt.date, filters: Filters) -> None:
        self.user, self.filters, self.today = user, filters, today
        self.day = date_param(today)
        self.horizon = date_param(today + dt.timedelta(days=UPCOMING_DAYS))
        self.blocked_by = date_param(today + dt.timedelta(days=BLOCKED_HORIZON_DAYS))
        scope = patient_scope_sql(user)
        self.empty = scope is None
        if scope is not None:
            patients = Sql(*scope)
            if filters.q:
                search = (Q(family_name__icontains=filters.q)
                          | Q(given_name__icontains=filters.q) | Q(mrn__icontains=filters.q))
                patients = join_sql(patients, " AND ", Sql(*where_sql(Patient, search)))
            self.patients = join_sql("(", patients, ")")

    def awake(self, compare: str) -> Sql:
        """An awake (not snoozed) task due `compare` today (``<``, ``=`` or ``>``)."""
        return Sql(f"(t.snoozed_until IS NULL OR t.snoozed_until <= %s) AND t.due {compare} %s",
                    [self.day, self.day])

    def task_conditions(self) -> Sql:
        """The open tasks due by the horizon or snoozed, filtered by owner, kind and stage."""
        filters = self.filters
        parts: list[str | Sql] = [Sql(
            "t.state = %s AND (t.due <= %s OR t.snoozed_until > %s)",
            [TaskState.OPEN, self.horizon, self.day])]
        if filters.owner == "me":
            parts.append(Sql(" AND t.owner_party = %s AND t.owner_user_id = %s",
                              [OwnerParty.USER, self.user.pk]))
        elif filters.owner in ("centre", "practice"):
            parts.append(Sql(" AND t.owner_party = %s", [filters.owner]))
        if filters.kind:
            parts.append(Sql(" AND t.kind = %s", [filters.kind]))
        if filters.stage:
            parts.append(Sql(" AND c.state = %s", [filters.stage]))
        return join_sql(*parts)

    def scoped_tasks(self) -> Sql:
        """FROM and WHERE of the open tasks on the caseload, in the user's scope and search."""
        course = " JOIN prrt_treatmentcourse c ON c.id = t.course_id" if self.filters.stage else ""
        return join_sql(" FROM coordinators_caretask t"
                    " JOIN patients_patient ON patients_patient.id = t.patient_id", course,
                    " WHERE ", self.patients, " AND ", self.task_conditions())

    @property
    def has_blocked(self) -> bool:
        """Whether a blocked cycle can match the filters (none of a task kind or owner)."""
        return not (self.filters.kind or self.filters.owner not in ("", "centre"))

    def cycle_conditions(self) -> Sql:
        """The cycles within BLOCKED_HORIZON_DAYS that cannot be approved yet."""
        conditions = Sql(
            "y.state IN (%s, %s) AND c.state IN (%s, %s) AND y.planned_date <= %s"
            " AND y.missing <> %s",
            [CycleState.PLANNED, CycleState.WITHHELD, CourseState.APPROVED, CourseState.ACTIVE,
             self.blocked_by, "[]"])
        if self.filters.stage:
            conditions = join_sql(conditions, Sql(" AND c.state = %s", [self.filters.stage]))
        return conditions

    def counts(self) -> dict[str, int]:
        sql = join_sql("SELECT COUNT(CASE WHEN ", self.awake("<"), " THEN 1 END), ",
                   "COUNT(CASE WHEN ", self.awake("="), " THEN 1 END), ",
                   "COUNT(CASE WHEN ", self.awake(">"), " THEN 1 END), ",
                   Sql("COUNT(CASE WHEN t.snoozed_until > %s THEN 1 END)", [self.day]),
                   self.scoped_tasks())
        [(overdue, today, upcoming, snoozed)] = fetch(sql.text, sql.params, [None] * 4)
        return {"overdue": overdue, "today": today, "upcoming": upcoming, "snoozed": snoozed}

    def blocked_patients(self) -> list[int]:
        """The patient of each blocked cycle (one id per cycle), in the scope and search."""
        sql = join_sql("SELECT c.patient_id FROM prrt_cycle y"
                   " JOIN prrt_treatmentcourse c ON c.id = y.course_id"
                   " JOIN patients_patient ON patients_patient.id = c.patient_id WHERE ",
                   self.patients, " AND ", self.cycle_conditions())
        return [row[0] for row in fetch(sql.text, sql.params, [None])]

    def ranked(self, *, blocked: list[int] | None, offset: int, show: int) -> list[tuple]:
        """(id, public id, family name, given name, MRN, how many patients in all) of the
        patients with something on the caseload, most urgent first, rows `offset` to
        `offset + show`. `blocked`: the patients with a blocked cycle (None: read here)."""
        if blocked is None:
            is_blocked = join_sql("patients_patient.id IN (SELECT c.patient_id FROM prrt_cycle y"
                              " JOIN prrt_treatmentcourse c ON c.id = y.course_id WHERE ",
                              self.cycle_conditions(), ")")
        elif blocked:
            is_blocked = join_sql("patients_patient.id ", sql_in(blocked))
        else:
            is_blocked = None
        sql = join_sql(
            "WITH open_tasks AS (SELECT t.patient_id, ",
            "MAX(CASE WHEN ", self.awake("<"), " THEN 1 ELSE 0 END) AS overdue, ",
            "MAX(CASE WHEN ", self.awake("="), " THEN 1 ELSE 0 END) AS due_today, ",
            "MAX(CASE WHEN ", self.awake(">"), " THEN 1 ELSE 0 END) AS upcoming",
            self.scoped_tasks(), " GROUP BY t.patient_id) ",
            "SELECT patients_patient.id, patients_patient.external_id, ",
            "patients_patient.family_name, patients_patient.given_name, patients_patient.mrn, ",
            "COUNT(*) OVER () FROM patients_patient",
            " LEFT JOIN open_tasks o ON o.patient_id = patients_patient.id WHERE ",
            self.patients, " AND (o.patient_id IS NOT NULL",
            *((" OR ", is_blocked) if is_blocked else ()),
            ") ORDER BY COALESCE(o.overdue, 0) DESC, ",
            *(("CASE WHEN ", is_blocked, " THEN 1 ELSE 0 END DESC, ") if is_blocked else ()),
            "COALESCE(o.due_today, 0) DESC, COALESCE(o.upcoming, 0) DESC, ",
            "patients_patient.family_name, patients_patient.given_name, patients_patient.id",
            Sql(" LIMIT %s OFFSET %s", [show, offset]))
        return fetch(sql.text, sql.params,
                     [None, model_field(Patient, "external_id"), None, None, None, None])

    def tasks_of(self, patient_ids: list[int]) -> list[tuple]:
        """The open tasks on the caseload of `patient_ids`, in due order, with their owner's
        name, their course, its centre's time zone and the public id of the cycle a rebooking
        or a dose order is acted on from."""
        sql = join_sql(
            "SELECT t.id, t.external_id, t.patient_id, t.kind, t.cycle, t.sequence, t.due,",
            " t.latest, t.snoozed_until, t.reason, t.appointment_at, t.appointment_place,",
            " t.appointment_note, t.owner_party, u.first_name, u.last_name, u.username,",
            " c.state, c.external_id, ce.time_zone, CASE WHEN t.kind ",
            sql_in(list(CYCLE_PAGE_TASKS)),
            " THEN (SELECT y.external_id FROM prrt_cycle y WHERE y.course_id = t.course_id",
            " AND y.number = t.cycle ORDER BY y.id LIMIT 1) END",
            " FROM coordinators_caretask t JOIN prrt_treatmentcourse c ON c.id = t.course_id",
            " JOIN netcare_centre ce ON ce.id = c.centre_id",
            " LEFT JOIN netcare_user u ON u.id = t.owner_user_id WHERE t.patient_id ",
            sql_in(patient_ids), " AND ", self.task_conditions(),
            " ORDER BY t.due, t.kind, t.cycle, t.sequence, t.id")
        return fetch(sql.text, sql.params, [
            None, model_field(CareTask, "external_id"), None, None, None, None,
            model_field(CareTask, "due"), model_field(CareTask, "latest"),
            model_field(CareTask, "snoozed_until"), None,
            model_field(CareTask, "appointment_at"), None, None, None, None, None, None, None,
            model_field(TreatmentCourse, "external_id"), None, model_field(Cycle, "external_id")])

    def blocked_of(self, patient_ids: list[int]) -> list[tuple]:
        """The blocked cycles of `patient_ids`, by planned date, with what each is missing."""
        sql = join_sql("SELECT y.id, y.external_id, y.number, y.planned_date, y.missing,",
                   " c.patient_id, c.state FROM prrt_cycle y",
                   " JOIN prrt_treatmentcourse c ON c.id = y.course_id WHERE c.patient_id ",
                   sql_in(patient_ids), " AND ", self.cycle_conditions(),
                   " ORDER BY y.planned_date, y.id")
        return fetch(sql.text, sql.params, [
            None, model_field(Cycle, "external_id"), None, model_field(Cycle, "planned_date"),
            model_field(Cycle, "missing"), None, None])

    def adverse_events(self) -> list[tuple]:
        """Serious (grade 3 or more) adverse events reported in the last ADVERSE_EVENT_DAYS,
        latest first, with the patient and the reporter's name."""
        since = timezone.now() - dt.timedelta(days=ADVERSE_EVENT_DAYS)
        sql = join_sql("SELECT a.ctcae_grade, a.term, a.category, a.onset_on,",
                   " patients_patient.external_id, patients_patient.family_name,",
                   " patients_patient.given_name, u.first_name, u.last_name, u.username",
                   " FROM patients_adverseevent a",
                   " JOIN patients_patient ON patients_patient.id = a.patient_id",
                   " LEFT JOIN netcare_user u ON u.id = a.reported_by_id WHERE ", self.patients,
                   Sql(" AND a.ctcae_grade >= %s AND a.reported_at >= %s",
                        [3, datetime_param(since)]),
                   " ORDER BY a.reported_at DESC, a.id DESC LIMIT 50")
        return fetch(sql.text, sql.params, [
            None, None, None, model_field(AdverseEvent, "onset_on"),
            model_field(Patient, "external_id"), None, None, None, None, None])
