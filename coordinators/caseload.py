"""The navigator's caseload: what is overdue, due today, due in the next 7 days, snoozed or
blocked, for every patient the navigator may see, grouped by patient with counts.

A fixed number of queries whatever the caseload, and a cost that hardly grows with it: the
counts, which patients have something and their order (overdue first, then blocked, then due
today, then in the next days; snoozed only last; then by name) are computed by the database
(portable SQL: conditional aggregation and IN subqueries, on PostgreSQL and SQLite alike); only
the rows of the patient groups shown (PAGE_PATIENTS at a time, the next ones on demand) are
read, as plain values rather than model instances, with their URLs and labels made here.
"Overdue" and "due" are derived from the dates when read, never stored. The dates are the plan's
(the tasks' own), the same on every page.

A snoozed task (``snoozed_until`` after today) waits in its own group, with the day it wakes and
the reason, and counts as neither overdue nor due; on the day it wakes it is back where its dates
put it. Only open tasks are listed: a task done by a person or closed by NETcare from its record
is gone. A task with a one-click way to act carries it (:func:`task_link`): rebooking a withheld
cycle opens the cycle, the referral back opens the course letter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from coordinators.selectors import CYCLE_PAGE_TASKS
from netcare.access import patient_scope_sql
from netcare.sqlrows import date_param, datetime_param, fetch, in_list, where_sql
from patients.models import AdverseEvent, Patient
from prrt.models import CourseState, Cycle, CycleState, TreatmentCourse

UPCOMING_DAYS = 7
BLOCKED_HORIZON_DAYS = 21
ADVERSE_EVENT_DAYS = 14
OWNER_FILTERS = {"me": "Me", "centre": "The centre", "practice": "Referring practices"}
STAGE_FILTERS = {CourseState.ELIGIBILITY_REVIEW: "Eligibility review",
                 CourseState.APPROVED: "Approved", CourseState.ACTIVE: "In treatment",
                 CourseState.COMPLETED: "Follow-up"}


@dataclass(frozen=True)
class Filters:
    owner: str = ""
    kind: str = ""
    stage: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, data) -> Filters:
        owner = data.get("owner", "")
        kind = data.get("kind", "")
        stage = data.get("stage", "")
        return cls(owner=owner if owner in OWNER_FILTERS else "",
                   kind=kind if kind in TaskKind.values else "",
                   stage=stage if stage in STAGE_FILTERS else "",
                   q=(data.get("q") or "").strip()[:60])

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in (("owner", self.owner), ("kind", self.kind),
                                  ("stage", self.stage), ("q", self.q)) if v}


@dataclass(frozen=True)
class TaskLink:
    """Where to act on a task in one click."""

    label: str
    url: str


def task_link(task: CareTask) -> TaskLink | None:
    """The page that acts on `task`: the cycle to rebook or order the dose for (its public id
    comes from :func:`coordinators.selectors.with_cycle_ref`), the course letter for the
    referral back."""
    course_ref = task.course.external_id if task.kind == TaskKind.REFERRAL_FOLLOW_UP else None
    return link_for(task.kind, task.cycle, getattr(task, "cycle_ref", None), course_ref,
                    cycle_url=_url_maker("prrt:cycle"), letter_url=_url_maker("letters:letter"))


_CYCLE_LINKS = {TaskKind.REBOOK_CYCLE: "Rebook cycle {}", TaskKind.DOSE_ORDER: "Order the dose "
                "for cycle {}"}


def link_for(kind: str, cycle: int, cycle_ref, course_ref, *, cycle_url,
             letter_url) -> TaskLink | None:
    """The one-click link of a task, from plain values (`cycle_url` and `letter_url` make the
    URLs from public ids)."""
    if kind in _CYCLE_LINKS and cycle_ref is not None:
        return TaskLink(_CYCLE_LINKS[kind].format(cycle), cycle_url(cycle_ref))
    if kind == TaskKind.REFERRAL_FOLLOW_UP and course_ref is not None:
        return TaskLink("Open the course letter", letter_url(course_ref))
    return None


def is_snoozed(task: CareTask, today: dt.date) -> bool:
    """Snoozed until a later day: the task wakes on ``snoozed_until``."""
    return task.snoozed_until is not None and task.snoozed_until > today


_PLACEHOLDER = uuid.UUID(int=0)


def _url_maker(name: str):
    """A function from a public id to the URL of `name` (one ``reverse`` per page, not per row)."""
    pattern = reverse(name, args=[_PLACEHOLDER])
    head, tail = pattern.split(str(_PLACEHOLDER), 1)
    return lambda external_id: f"{head}{external_id}{tail}"


@dataclass
class PatientRow:
    """A patient as the caseload shows them (values, not a model instance)."""

    pk: int
    external_id: uuid.UUID
    family_name: str
    given_name: str
    mrn: str
    url: str = ""


@dataclass
class CourseRow:
    state: str

    def get_state_display(self) -> str:
        return CourseState(self.state).label


@dataclass
class CentreRow:
    time_zone: str


@dataclass
class TaskCourse:
    centre: CentreRow


@dataclass
class TaskRow:
    """An open care task as the caseload shows it: its values, the owner's name, the public id
    of the cycle to rebook (``cycle_ref``), its one-click link and the URL of its action
    forms."""

    pk: int
    external_id: uuid.UUID
    kind: str
    cycle: int
    sequence: int
    due: dt.date
    latest: dt.date
    snoozed_until: dt.date | None
    reason: str
    appointment_at: dt.datetime | None
    appointment_place: str
    appointment_note: str
    owner_party: str
    owner_user: str | None
    course: TaskCourse
    course_external_id: uuid.UUID
    cycle_ref: uuid.UUID | None = None
    link: TaskLink | None = None
    forms_url: str = ""

    @property
    def title(self) -> str:
        label = TaskKind(self.kind).label
        if self.cycle:
            return f"{label} (cycle {self.cycle})"
        if self.kind in (TaskKind.IMAGING, TaskKind.LAR_MAINTENANCE):
            return f"{label} #{self.sequence}"
        return label

    def get_owner_party_display(self) -> str:
        return OwnerParty(self.owner_party).label


@dataclass
class BlockedCycle:
    pk: int
    external_id: uuid.UUID
    number: int
    planned_date: dt.date
    url: str = ""


@dataclass
class PatientGroup:
    patient: PatientRow
    course: CourseRow | None = None
    overdue: list[TaskRow] = field(default_factory=list)
    today: list[TaskRow] = field(default_factory=list)
    upcoming: list[TaskRow] = field(default_factory=list)
    snoozed: list[TaskRow] = field(default_factory=list)
    blocked: list[tuple[BlockedCycle, list[str]]] = field(default_factory=list)

    @property
    def buckets(self) -> list[tuple[str, str, list[TaskRow]]]:
        """(status, label, tasks) for the non-empty buckets, most urgent first; the snoozed
        tasks last, by the day they wake."""
        return [(status, label, tasks) for status, label, tasks in (
            ("overdue", "Overdue", self.overdue), ("today", "Due today", self.today),
            ("upcoming", "Next 7 days", self.upcoming), ("snoozed", "Snoozed", self.snoozed))
            if tasks]


@dataclass
class Caseload:
    """`groups`: the patient groups shown, from the `offset`-th most urgent; `counts` cover the
    whole caseload."""

    today: dt.date
    filters: Filters
    groups: list[PatientGroup]
    adverse_events: list[dict]
    counts: dict[str, int]
    offset: int = 0

    @property
    def shown(self) -> int:
        """How many groups are shown, up to the last of this page."""
        return self.offset + len(self.groups)

    @property
    def hidden(self) -> int:
        return max(self.counts["patients"] - self.shown, 0)

    @property
    def shown_groups(self) -> list[PatientGroup]:
        return self.groups


PAGE_PATIENTS = 25

# Up to this many patients with a blocked cycle are passed to the ranking as a list of ids (read
# once); beyond, the ranking reads them again itself (a subquery).
BLOCKED_IDS_INLINE = 5000

_AWAKE = "(t.snoozed_until IS NULL OR t.snoozed_until <= %s)"


@dataclass
class _Sql:
    """A piece of SQL with its parameters, in order."""

    text: str
    params: list = field(default_factory=list)


def _sql(*parts: str | _Sql) -> _Sql:
    """The parts one after the other (a str: SQL without parameters)."""
    text, params = [], []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        else:
            text.append(part.text)
            params.extend(part.params)
    return _Sql("".join(text), params)


def _in(values: list) -> _Sql:
    """``IN (%s, ...)`` with `values` (at least one)."""
    return _Sql(f"IN {in_list(values)}", list(values))


def _field(model, name: str):
    return model._meta.get_field(name)


class _Read:
    """The caseload's reads for one user, day and set of filters, written in SQL (compiling them
    through the ORM cost more than running them; see the module's docstring). The patients'
    scope is access.py's own condition and the search the ORM's own case-insensitive match,
    both on the table ``patients_patient``; tasks are ``t``, cycles ``y``, courses ``c``."""

    def __init__(self, user, *, today: dt.date, filters: Filters) -> None:
        self.user, self.filters = user, filters
        self.day = date_param(today)
        self.horizon = date_param(today + dt.timedelta(days=UPCOMING_DAYS))
        self.blocked_by = date_param(today + dt.timedelta(days=BLOCKED_HORIZON_DAYS))
        scope = patient_scope_sql(user)
        self.empty = scope is None
        if scope is not None:
            patients = _Sql(*scope)
            if filters.q:
                search = (Q(family_name__icontains=filters.q)
                          | Q(given_name__icontains=filters.q) | Q(mrn__icontains=filters.q))
                patients = _sql(patients, " AND ", _Sql(*where_sql(Patient, search)))
            self.patients = _sql("(", patients, ")")

    def _awake(self, compare: str) -> _Sql:
        """An awake (not snoozed) task due `compare` today (``<``, ``=`` or ``>``)."""
        return _Sql(f"(t.snoozed_until IS NULL OR t.snoozed_until <= %s) AND t.due {compare} %s",
                    [self.day, self.day])

    def task_conditions(self) -> _Sql:
        """The open tasks due by the horizon or snoozed, filtered by owner, kind and stage."""
        filters = self.filters
        parts: list[str | _Sql] = [_Sql(
            "t.state = %s AND (t.due <= %s OR t.snoozed_until > %s)",
            [TaskState.OPEN, self.horizon, self.day])]
        if filters.owner == "me":
            parts.append(_Sql(" AND t.owner_party = %s AND t.owner_user_id = %s",
                              [OwnerParty.USER, self.user.pk]))
        elif filters.owner in ("centre", "practice"):
            parts.append(_Sql(" AND t.owner_party = %s", [filters.owner]))
        if filters.kind:
            parts.append(_Sql(" AND t.kind = %s", [filters.kind]))
        if filters.stage:
            parts.append(_Sql(" AND c.state = %s", [filters.stage]))
        return _sql(*parts)

    def scoped_tasks(self) -> _Sql:
        """FROM and WHERE of the open tasks on the caseload, in the user's scope and search."""
        course = " JOIN prrt_treatmentcourse c ON c.id = t.course_id" if self.filters.stage else ""
        return _sql(" FROM coordinators_caretask t"
                    " JOIN patients_patient ON patients_patient.id = t.patient_id", course,
                    " WHERE ", self.patients, " AND ", self.task_conditions())

    @property
    def has_blocked(self) -> bool:
        """Whether a blocked cycle can match the filters (none of a task kind or owner)."""
        return not (self.filters.kind or self.filters.owner not in ("", "centre"))

    def cycle_conditions(self) -> _Sql:
        """The cycles within BLOCKED_HORIZON_DAYS that cannot be approved yet."""
        conditions = _Sql(
            "y.state IN (%s, %s) AND c.state IN (%s, %s) AND y.planned_date <= %s"
            " AND y.missing <> %s",
            [CycleState.PLANNED, CycleState.WITHHELD, CourseState.APPROVED, CourseState.ACTIVE,
             self.blocked_by, "[]"])
        if self.filters.stage:
            conditions = _sql(conditions, _Sql(" AND c.state = %s", [self.filters.stage]))
        return conditions

    def counts(self) -> dict[str, int]:
        sql = _sql("SELECT COUNT(CASE WHEN ", self._awake("<"), " THEN 1 END), ",
                   "COUNT(CASE WHEN ", self._awake("="), " THEN 1 END), ",
                   "COUNT(CASE WHEN ", self._awake(">"), " THEN 1 END), ",
                   _Sql("COUNT(CASE WHEN t.snoozed_until > %s THEN 1 END)", [self.day]),
                   self.scoped_tasks())
        [(overdue, today, upcoming, snoozed)] = fetch(sql.text, sql.params, [None] * 4)
        return {"overdue": overdue, "today": today, "upcoming": upcoming, "snoozed": snoozed}

    def blocked_patients(self) -> list[int]:
        """The patient of each blocked cycle (one id per cycle), in the scope and search."""
        sql = _sql("SELECT c.patient_id FROM prrt_cycle y"
                   " JOIN prrt_treatmentcourse c ON c.id = y.course_id"
                   " JOIN patients_patient ON patients_patient.id = c.patient_id WHERE ",
                   self.patients, " AND ", self.cycle_conditions())
        return [row[0] for row in fetch(sql.text, sql.params, [None])]

    def ranked(self, *, blocked: list[int] | None, offset: int, show: int) -> list[tuple]:
        """(id, public id, family name, given name, MRN, how many patients in all) of the
        patients with something on the caseload, most urgent first, rows `offset` to
        `offset + show`. `blocked`: the patients with a blocked cycle (None: read here)."""
        if blocked is None:
            is_blocked = _sql("patients_patient.id IN (SELECT c.patient_id FROM prrt_cycle y"
                              " JOIN prrt_treatmentcourse c ON c.id = y.course_id WHERE ",
                              self.cycle_conditions(), ")")
        elif blocked:
            is_blocked = _sql("patients_patient.id ", _in(blocked))
        else:
            is_blocked = None
        sql = _sql(
            "WITH open_tasks AS (SELECT t.patient_id, ",
            "MAX(CASE WHEN ", self._awake("<"), " THEN 1 ELSE 0 END) AS overdue, ",
            "MAX(CASE WHEN ", self._awake("="), " THEN 1 ELSE 0 END) AS due_today, ",
            "MAX(CASE WHEN ", self._awake(">"), " THEN 1 ELSE 0 END) AS upcoming",
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
            _Sql(" LIMIT %s OFFSET %s", [show, offset]))
        return fetch(sql.text, sql.params,
                     [None, _field(Patient, "external_id"), None, None, None, None])

    def tasks_of(self, patient_ids: list[int]) -> list[tuple]:
        """The open tasks on the caseload of `patient_ids`, in due order, with their owner's
        name, their course, its centre's time zone and the public id of the cycle a rebooking
        or a dose order is acted on from."""
        sql = _sql(
            "SELECT t.id, t.external_id, t.patient_id, t.kind, t.cycle, t.sequence, t.due,",
            " t.latest, t.snoozed_until, t.reason, t.appointment_at, t.appointment_place,",
            " t.appointment_note, t.owner_party, u.first_name, u.last_name, u.username,",
            " c.state, c.external_id, ce.time_zone, CASE WHEN t.kind ",
            _in(list(CYCLE_PAGE_TASKS)),
            " THEN (SELECT y.external_id FROM prrt_cycle y WHERE y.course_id = t.course_id",
            " AND y.number = t.cycle ORDER BY y.id LIMIT 1) END",
            " FROM coordinators_caretask t JOIN prrt_treatmentcourse c ON c.id = t.course_id",
            " JOIN netcare_centre ce ON ce.id = c.centre_id",
            " LEFT JOIN netcare_user u ON u.id = t.owner_user_id WHERE t.patient_id ",
            _in(patient_ids), " AND ", self.task_conditions(),
            " ORDER BY t.due, t.kind, t.cycle, t.sequence, t.id")
        return fetch(sql.text, sql.params, [
            None, _field(CareTask, "external_id"), None, None, None, None, _field(CareTask, "due"),
            _field(CareTask, "latest"), _field(CareTask, "snoozed_until"), None,
            _field(CareTask, "appointment_at"), None, None, None, None, None, None, None,
            _field(TreatmentCourse, "external_id"), None, _field(Cycle, "external_id")])

    def blocked_of(self, patient_ids: list[int]) -> list[tuple]:
        """The blocked cycles of `patient_ids`, by planned date, with what each is missing."""
        sql = _sql("SELECT y.id, y.external_id, y.number, y.planned_date, y.missing,",
                   " c.patient_id, c.state FROM prrt_cycle y",
                   " JOIN prrt_treatmentcourse c ON c.id = y.course_id WHERE c.patient_id ",
                   _in(patient_ids), " AND ", self.cycle_conditions(),
                   " ORDER BY y.planned_date, y.id")
        return fetch(sql.text, sql.params, [
            None, _field(Cycle, "external_id"), None, _field(Cycle, "planned_date"),
            _field(Cycle, "missing"), None, None])

    def adverse_events(self) -> list[tuple]:
        """Serious (grade 3 or more) adverse events reported in the last ADVERSE_EVENT_DAYS,
        latest first, with the patient and the reporter's name."""
        since = timezone.now() - dt.timedelta(days=ADVERSE_EVENT_DAYS)
        sql = _sql("SELECT a.ctcae_grade, a.term, a.category, a.onset_on,",
                   " patients_patient.external_id, patients_patient.family_name,",
                   " patients_patient.given_name, u.first_name, u.last_name, u.username",
                   " FROM patients_adverseevent a",
                   " JOIN patients_patient ON patients_patient.id = a.patient_id",
                   " LEFT JOIN netcare_user u ON u.id = a.reported_by_id WHERE ", self.patients,
                   _Sql(" AND a.ctcae_grade >= %s AND a.reported_at >= %s",
                        [3, datetime_param(since)]),
                   " ORDER BY a.reported_at DESC, a.id DESC LIMIT 50")
        return fetch(sql.text, sql.params, [
            None, None, None, _field(AdverseEvent, "onset_on"), _field(Patient, "external_id"),
            None, None, None, None, None])


def caseload_for(user, *, today: dt.date, filters: Filters = Filters(),
                 show: int = PAGE_PATIENTS, offset: int = 0) -> Caseload:
    """The caseload: counts over everything; the `show` most urgent patient groups from the
    `offset`-th (overdue first, then blocked, then due today, then in the next days; snoozed
    only last), with their tasks and blocked cycles; recent serious adverse events."""
    read = _Read(user, today=today, filters=filters)
    if read.empty:
        return Caseload(today=today, filters=filters, groups=[], adverse_events=[],
                        counts=dict.fromkeys(("overdue", "today", "upcoming", "snoozed",
                                              "blocked", "patients"), 0), offset=offset)
    counts = read.counts()
    blocked: list[int] | None = []
    if read.has_blocked:  # one row (the patient's id) per blocked cycle
        patients = read.blocked_patients()
        counts["blocked"] = len(patients)
        blocked = list(dict.fromkeys(sorted(patients)))
        if len(blocked) > BLOCKED_IDS_INLINE:
            blocked = None  # the ranking reads them itself
    else:
        counts["blocked"] = 0
    ranked = read.ranked(blocked=blocked, offset=offset, show=show)
    if not ranked and offset:  # a page past the end: the number of patients from the first
        first = read.ranked(blocked=blocked, offset=0, show=1)
        counts["patients"] = first[0][5] if first else 0
    else:
        counts["patients"] = ranked[0][5] if ranked else 0
    patient_url = _url_maker("patients:detail")
    groups = {pk: PatientGroup(PatientRow(
        pk=pk, external_id=external_id, family_name=family_name, given_name=given_name,
        mrn=mrn, url=patient_url(external_id)))
        for pk, external_id, family_name, given_name, mrn, _ in ranked}
    if groups:
        _fill_tasks(groups, read.tasks_of(list(groups)), today=today)
        if read.has_blocked:
            _fill_blocked(groups, read.blocked_of(list(groups)))
    return Caseload(today=today, filters=filters, groups=list(groups.values()),
                    adverse_events=_adverse_events(read), counts=counts,
                    offset=offset)


def _owner_name(first: str | None, last: str | None, username: str | None) -> str | None:
    if username is None:
        return None
    return f"{first or ''} {last or ''}".strip() or username  # as User.__str__


def _fill_tasks(groups: dict[int, PatientGroup], rows: list[tuple], *, today: dt.date) -> None:
    forms_url = _url_maker("caseload:task-forms")
    cycle_url = _url_maker("prrt:cycle")
    letter_url = _url_maker("letters:letter")
    centres: dict[str, TaskCourse] = {}
    for (pk, external_id, patient_id, kind, cycle, sequence, due, latest, snoozed_until, reason,
         appointment_at, place, note, owner_party, first, last, username, course_state,
         course_id, time_zone, cycle_ref) in rows:
        course = centres.get(time_zone) or centres.setdefault(
            time_zone, TaskCourse(CentreRow(time_zone)))
        task = TaskRow(pk=pk, external_id=external_id, kind=kind, cycle=cycle,
                       sequence=sequence, due=due, latest=latest, snoozed_until=snoozed_until,
                       reason=reason, appointment_at=appointment_at, appointment_place=place,
                       appointment_note=note, owner_party=owner_party,
                       owner_user=_owner_name(first, last, username), course=course,
                       course_external_id=course_id, cycle_ref=cycle_ref,
                       forms_url=forms_url(external_id))
        task.link = link_for(kind, cycle, cycle_ref, course_id, cycle_url=cycle_url,
                             letter_url=letter_url)
        group = groups[patient_id]
        if group.course is None:
            group.course = CourseRow(course_state)
        if task.snoozed_until is not None and task.snoozed_until > today:
            group.snoozed.append(task)
        elif due < today:
            group.overdue.append(task)
        elif due == today:
            group.today.append(task)
        else:
            group.upcoming.append(task)
    for group in groups.values():
        group.snoozed.sort(key=lambda t: (t.snoozed_until, t.due, t.kind, t.cycle, t.pk))


def _fill_blocked(groups: dict[int, PatientGroup], rows: list[tuple]) -> None:
    cycle_url = _url_maker("prrt:cycle")
    for pk, external_id, number, planned_date, missing, patient_id, course_state in rows:
        group = groups[patient_id]
        if group.course is None:
            group.course = CourseRow(course_state)
        group.blocked.append((BlockedCycle(pk, external_id, number, planned_date,
                                           cycle_url(external_id)), list(missing)))


def _adverse_events(read: _Read) -> list[dict]:
    """The recent serious adverse events as values, with the patient's link."""
    patient_url = _url_maker("patients:detail")
    categories = dict(AdverseEvent._meta.get_field("category").flatchoices)
    return [{"ctcae_grade": grade, "term": term, "category": categories.get(category, category),
             "onset_on": onset_on, "patient_url": patient_url(patient),
             "family_name": family_name, "given_name": given_name,
             "reported_by": _owner_name(first, last, username)}
            for (grade, term, category, onset_on, patient, family_name, given_name, first, last,
                 username) in read.adverse_events()]
