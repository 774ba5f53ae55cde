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

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.urls import reverse
from django.utils import timezone

from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from coordinators.selectors import with_cycle_ref
from netcare.access import scope_to_patients
from patients.models import AdverseEvent, Patient
from prrt.models import CourseState, Cycle, CycleState

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


def _patient_filter(filters: Filters, path: str) -> Q:
    condition = Q()
    if filters.q:
        condition &= (Q(**{f"{path}family_name__icontains": filters.q})
                      | Q(**{f"{path}given_name__icontains": filters.q})
                      | Q(**{f"{path}mrn__icontains": filters.q}))
    return condition


PAGE_PATIENTS = 25


def _open_tasks(user, *, today: dt.date, filters: Filters,
                scoped: bool = True) -> QuerySet[CareTask]:
    """The open tasks on the caseload (due by the horizon, or snoozed), filtered; no joins
    beyond what the scope and the filters need. Unscoped (`scoped=False`), without the
    patient's scope and search: only for a subquery whose outer query applies them."""
    horizon = today + dt.timedelta(days=UPCOMING_DAYS)
    tasks = (CareTask.objects.filter(state=TaskState.OPEN)
             .filter(Q(due__lte=horizon) | Q(snoozed_until__gt=today)))
    if scoped:
        tasks = (scope_to_patients(user, tasks)
                 .filter(_patient_filter(filters, "patient__")))
    if filters.owner == "me":
        tasks = tasks.filter(owner_party=OwnerParty.USER, owner_user=user)
    elif filters.owner in ("centre", "practice"):
        tasks = tasks.filter(owner_party=filters.owner)
    if filters.kind:
        tasks = tasks.filter(kind=filters.kind)
    if filters.stage:
        tasks = tasks.filter(course__state=filters.stage)
    return tasks.order_by()


def _blocked_cycles(user, *, today: dt.date, filters: Filters,
                    scoped: bool = True) -> QuerySet[Cycle] | None:
    """Cycles within BLOCKED_HORIZON_DAYS that cannot be approved yet (what is missing); None
    when the filters ask for tasks of a kind or owner that a cycle has not. `scoped`: as for
    :func:`_open_tasks`."""
    if filters.kind or filters.owner not in ("", "centre"):
        return None
    cycles = (Cycle.objects
              .filter(state__in=[CycleState.PLANNED, CycleState.WITHHELD],
                      course__state__in=[CourseState.APPROVED, CourseState.ACTIVE],
                      planned_date__lte=today + dt.timedelta(days=BLOCKED_HORIZON_DAYS))
              .exclude(missing=[]))
    if scoped:
        cycles = (scope_to_patients(user, cycles, patient_path="course__patient")
                  .filter(_patient_filter(filters, "course__patient__")))
    if filters.stage:
        cycles = cycles.filter(course__state=filters.stage)
    return cycles.order_by()


def _buckets(today: dt.date) -> dict[str, Q]:
    """Each bucket as a condition on a task: a snoozed task is only snoozed."""
    awake = Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today)
    return {"overdue": awake & Q(due__lt=today), "today": awake & Q(due=today),
            "upcoming": awake & Q(due__gt=today), "snoozed": Q(snoozed_until__gt=today)}


def _flag(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


# Up to this many patients with a blocked cycle are passed to the ranking as a list of ids (a
# hashed lookup, read once); beyond, the ranking reads them again itself (a subquery).
BLOCKED_IDS_INLINE = 5000


def _ranked_patients(user, filters: Filters, *, today: dt.date, offset: int, show: int,
                     blocked: list[int] | QuerySet | None):
    """The patients with something on the caseload, most urgent first, rows `offset` to
    `offset + show`, each with the number of such patients (one query: the patients in the
    user's scope and search, with IN subqueries on the open tasks alone). `blocked`: the
    patients with a blocked cycle (ids, or a query of them), None when none can be."""
    tasks = _open_tasks(user, today=today, filters=filters, scoped=False)
    buckets = _buckets(today)
    on_caseload = Q(pk__in=tasks.values("patient_id"))
    has_blocked = Value(False)
    if blocked is not None and (not isinstance(blocked, list) or blocked):
        is_blocked = Q(pk__in=blocked)
        on_caseload |= is_blocked
        has_blocked = _flag(is_blocked)

    def having(bucket: str) -> Q:
        return Q(pk__in=tasks.filter(buckets[bucket]).values("patient_id"))

    patients = (scope_to_patients(user, Patient.objects.all(), patient_path="")
                .filter(_patient_filter(filters, ""))
                .filter(on_caseload)
                .annotate(has_overdue=_flag(having("overdue")),
                          has_blocked=has_blocked,
                          has_today=_flag(having("today")),
                          has_upcoming=_flag(having("upcoming")),
                          total=Window(Count("pk")))
                .order_by("-has_overdue", "-has_blocked", "-has_today", "-has_upcoming",
                          "family_name", "given_name", "pk")
                .values("pk", "external_id", "family_name", "given_name", "mrn", "total"))
    return list(patients[offset:offset + show])


def caseload_for(user, *, today: dt.date, filters: Filters = Filters(),
                 show: int = PAGE_PATIENTS, offset: int = 0) -> Caseload:
    """The caseload: counts over everything; the `show` most urgent patient groups from the
    `offset`-th (overdue first, then blocked, then due today, then in the next days; snoozed
    only last), with their tasks and blocked cycles; recent serious adverse events."""
    tasks = _open_tasks(user, today=today, filters=filters)
    cycles = _blocked_cycles(user, today=today, filters=filters)
    buckets = _buckets(today)
    counts = tasks.aggregate(**{name: Count("pk", filter=condition)
                                for name, condition in buckets.items()})
    blocked = None
    if cycles is not None:  # one row (the patient's id) per blocked cycle
        blocked = sorted(cycles.values_list("course__patient_id", flat=True))
        counts["blocked"] = len(blocked)
        blocked = list(dict.fromkeys(blocked))
        if len(blocked) > BLOCKED_IDS_INLINE:
            blocked = cycles.values("course__patient_id")
    else:
        counts["blocked"] = 0
    ranked = _ranked_patients(user, filters, today=today, offset=offset, show=show,
                              blocked=blocked)
    counts["patients"] = ranked[0]["total"] if ranked else (
        0 if offset == 0 else _ranked_total(user, filters, today=today, blocked=blocked))
    patient_url = _url_maker("patients:detail")
    groups = {row["pk"]: PatientGroup(PatientRow(
        pk=row["pk"], external_id=row["external_id"], family_name=row["family_name"],
        given_name=row["given_name"], mrn=row["mrn"], url=patient_url(row["external_id"])))
        for row in ranked}
    if groups:
        _fill_tasks(groups, tasks, today=today)
        if cycles is not None:
            _fill_blocked(groups, cycles)
    return Caseload(today=today, filters=filters, groups=list(groups.values()),
                    adverse_events=_adverse_events(user, filters), counts=counts,
                    offset=offset)


def _ranked_total(user, filters: Filters, *, today: dt.date, blocked) -> int:
    """The number of patients on the caseload, for a page past its end."""
    rows = _ranked_patients(user, filters, today=today, offset=0, show=1, blocked=blocked)
    return rows[0]["total"] if rows else 0


def _owner_name(first: str | None, last: str | None, username: str | None) -> str | None:
    if username is None:
        return None
    return f"{first or ''} {last or ''}".strip() or username  # as User.__str__


def _fill_tasks(groups: dict[int, PatientGroup], tasks, *, today: dt.date) -> None:
    forms_url = _url_maker("caseload:task-forms")
    cycle_url = _url_maker("prrt:cycle")
    letter_url = _url_maker("letters:letter")
    rows = (with_cycle_ref(tasks.filter(patient_id__in=list(groups)))
            .order_by("due", "kind", "cycle", "sequence", "pk")
            .values_list("pk", "external_id", "patient_id", "kind", "cycle", "sequence", "due",
                         "latest", "snoozed_until", "reason", "appointment_at",
                         "appointment_place", "appointment_note", "owner_party",
                         "owner_user__first_name", "owner_user__last_name",
                         "owner_user__username", "course__state", "course__external_id",
                         "course__centre__time_zone", "cycle_ref"))
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


def _fill_blocked(groups: dict[int, PatientGroup], cycles) -> None:
    cycle_url = _url_maker("prrt:cycle")
    rows = (cycles.filter(course__patient_id__in=list(groups)).order_by("planned_date", "pk")
            .values_list("pk", "external_id", "number", "planned_date", "missing",
                         "course__patient_id", "course__state"))
    for pk, external_id, number, planned_date, missing, patient_id, course_state in rows:
        group = groups[patient_id]
        if group.course is None:
            group.course = CourseRow(course_state)
        group.blocked.append((BlockedCycle(pk, external_id, number, planned_date,
                                           cycle_url(external_id)), list(missing)))


def _adverse_events(user, filters: Filters) -> list[dict]:
    """Serious (grade 3 or more) adverse events reported in the last ADVERSE_EVENT_DAYS, as
    values with the patient's link and the reporter's name."""
    since = timezone.now() - dt.timedelta(days=ADVERSE_EVENT_DAYS)
    rows = (scope_to_patients(user, AdverseEvent.objects.filter(
        ctcae_grade__gte=3, reported_at__gte=since))
        .filter(_patient_filter(filters, "patient__")).order_by("-reported_at")
        .values("ctcae_grade", "term", "category", "onset_on", "patient__external_id",
                "patient__family_name", "patient__given_name", "reported_by__first_name",
                "reported_by__last_name", "reported_by__username")[:50])
    patient_url = _url_maker("patients:detail")
    categories = dict(AdverseEvent._meta.get_field("category").flatchoices)
    return [{"ctcae_grade": row["ctcae_grade"], "term": row["term"],
             "category": categories.get(row["category"], row["category"]),
             "onset_on": row["onset_on"], "patient_url": patient_url(row["patient__external_id"]),
             "family_name": row["patient__family_name"],
             "given_name": row["patient__given_name"],
             "reported_by": _owner_name(row["reported_by__first_name"],
                                        row["reported_by__last_name"],
                                        row["reported_by__username"])}
            for row in rows]
