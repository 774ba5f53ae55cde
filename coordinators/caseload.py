"""The navigator's caseload: what is overdue, due today, due in the next 7 days, snoozed or
blocked, for every patient the navigator may see, grouped by patient with counts.

A fixed number of queries whatever the caseload: open tasks, blocked cycles and recent serious
adverse events are each fetched once and grouped in Python. "Overdue" and "due" are derived
from the dates when read, never stored. The dates are the plan's (the tasks' own), the same on
every page.

A snoozed task (``snoozed_until`` after today) waits in its own group, with the day it wakes and
the reason, and counts as neither overdue nor due; on the day it wakes it is back where its dates
put it. Only open tasks are listed: a task done by a person or closed by NETcare from its record
is gone. A task with a one-click way to act carries it (:func:`task_link`): rebooking a withheld
cycle opens the cycle, the referral back opens the course letter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from coordinators.selectors import visible_tasks, with_cycle_ref
from netcare.access import scope_to_patients
from patients.models import AdverseEvent
from prrt.models import CourseState, CycleState
from prrt.selectors import cycles_visible

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
    """The page that acts on `task`: the withheld cycle to rebook (its public id comes from
    :func:`coordinators.selectors.with_cycle_ref`), the course letter for the referral back."""
    if task.kind == TaskKind.REBOOK_CYCLE:
        ref = getattr(task, "cycle_ref", None)
        if ref is None:
            return None
        return TaskLink(f"Rebook cycle {task.cycle}", reverse("prrt:cycle", args=[ref]))
    if task.kind == TaskKind.REFERRAL_FOLLOW_UP:
        return TaskLink("Open the course letter",
                        reverse("letters:letter", args=[task.course.external_id]))
    return None


def is_snoozed(task: CareTask, today: dt.date) -> bool:
    """Snoozed until a later day: the task wakes on ``snoozed_until``."""
    return task.snoozed_until is not None and task.snoozed_until > today


@dataclass
class PatientGroup:
    patient: object
    course: object | None = None
    overdue: list[CareTask] = field(default_factory=list)
    today: list[CareTask] = field(default_factory=list)
    upcoming: list[CareTask] = field(default_factory=list)
    snoozed: list[CareTask] = field(default_factory=list)
    blocked: list[tuple[object, list[str]]] = field(default_factory=list)

    @property
    def buckets(self) -> list[tuple[str, str, list[CareTask]]]:
        """(status, label, tasks) for the non-empty buckets, most urgent first; the snoozed
        tasks last, by the day they wake."""
        return [(status, label, tasks) for status, label, tasks in (
            ("overdue", "Overdue", self.overdue), ("today", "Due today", self.today),
            ("upcoming", "Next 7 days", self.upcoming), ("snoozed", "Snoozed", self.snoozed))
            if tasks]

    @property
    def sort_key(self):
        return (not self.overdue, not self.blocked, not self.today, not self.upcoming,
                self.patient.family_name, self.patient.given_name, self.patient.pk)


@dataclass
class Caseload:
    today: dt.date
    filters: Filters
    groups: list[PatientGroup]
    adverse_events: list[AdverseEvent]
    counts: dict[str, int]
    shown: int = 0

    @property
    def hidden(self) -> int:
        return len(self.groups) - self.shown

    @property
    def shown_groups(self) -> list[PatientGroup]:
        return self.groups[:self.shown]


def _patient_filter(filters: Filters, path: str) -> Q:
    condition = Q()
    if filters.q:
        condition &= (Q(**{f"{path}family_name__icontains": filters.q})
                      | Q(**{f"{path}given_name__icontains": filters.q})
                      | Q(**{f"{path}mrn__icontains": filters.q}))
    return condition


PAGE_PATIENTS = 100


def caseload_for(user, *, today: dt.date, filters: Filters = Filters(),
                 show: int = PAGE_PATIENTS) -> Caseload:
    """The caseload; counts cover everything, the page lists the `show` most urgent patients
    (overdue first, then blocked, then due today, then in the next days; snoozed only last)."""
    horizon = today + dt.timedelta(days=UPCOMING_DAYS)
    tasks = (with_cycle_ref(visible_tasks(user).select_related("course__centre"))
             .filter(state=TaskState.OPEN)
             .filter(Q(due__lte=horizon) | Q(snoozed_until__gt=today))
             .filter(_patient_filter(filters, "patient__"))
             .order_by("due", "kind", "cycle", "sequence", "pk"))
    if filters.owner == "me":
        tasks = tasks.filter(owner_party=OwnerParty.USER, owner_user=user)
    elif filters.owner in ("centre", "practice"):
        tasks = tasks.filter(owner_party=filters.owner)
    if filters.kind:
        tasks = tasks.filter(kind=filters.kind)
    if filters.stage:
        tasks = tasks.filter(course__state=filters.stage)

    groups: dict[int, PatientGroup] = {}
    for task in tasks:
        task.link = task_link(task)
        group = groups.setdefault(task.patient_id, PatientGroup(task.patient, task.course))
        if is_snoozed(task, today):
            group.snoozed.append(task)
        elif task.due < today:
            group.overdue.append(task)
        elif task.due == today:
            group.today.append(task)
        else:
            group.upcoming.append(task)

    blocked = []
    if not filters.kind and filters.owner in ("", "centre"):
        cycles = (cycles_visible(user)
                  .filter(state__in=[CycleState.PLANNED, CycleState.WITHHELD],
                          course__state__in=[CourseState.APPROVED, CourseState.ACTIVE],
                          planned_date__lte=today + dt.timedelta(days=BLOCKED_HORIZON_DAYS))
                  .exclude(missing=[])
                  .filter(_patient_filter(filters, "course__patient__"))
                  .order_by("planned_date", "pk"))
        if filters.stage:
            cycles = cycles.filter(course__state=filters.stage)
        blocked = list(cycles)
    for cycle in blocked:
        patient = cycle.course.patient
        group = groups.setdefault(patient.pk, PatientGroup(patient, cycle.course))
        group.blocked.append((cycle, list(cycle.missing)))

    since = timezone.now() - dt.timedelta(days=ADVERSE_EVENT_DAYS)
    events = list(scope_to_patients(user, AdverseEvent.objects.filter(
        ctcae_grade__gte=3, reported_at__gte=since))
        .filter(_patient_filter(filters, "patient__"))
        .select_related("patient", "reported_by").order_by("-reported_at")[:50])

    for group in groups.values():
        group.snoozed.sort(key=lambda t: (t.snoozed_until, t.due, t.kind, t.cycle, t.pk))
    ordered = sorted(groups.values(), key=lambda g: g.sort_key)
    counts = {
        "overdue": sum(len(g.overdue) for g in ordered),
        "today": sum(len(g.today) for g in ordered),
        "upcoming": sum(len(g.upcoming) for g in ordered),
        "snoozed": sum(len(g.snoozed) for g in ordered),
        "blocked": sum(len(g.blocked) for g in ordered),
        "patients": len(ordered),
    }
    return Caseload(today=today, filters=filters, groups=ordered, adverse_events=events,
                    counts=counts, shown=min(show, len(ordered)))
