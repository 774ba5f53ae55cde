"""Read queries of the coordination side, scoped through netcare.access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, When

from coordinators.models import (
    CareTask,
    OwnerParty,
    Reminder,
    ReminderState,
    TaskKind,
    TaskState,
)
from netcare.access import scope_to_patients
from netcare.models import Role
from prrt.models import Cycle

UPCOMING_DAYS = 7


def visible_tasks(user) -> QuerySet[CareTask]:
    """Every care task of the patients `user` may see."""
    return scope_to_patients(user, CareTask.objects.all()).select_related(
        "patient", "course", "owner_user")


CYCLE_PAGE_TASKS = (TaskKind.REBOOK_CYCLE, TaskKind.DOSE_ORDER)


def with_cycle_ref(tasks: QuerySet[CareTask]) -> QuerySet[CareTask]:
    """`tasks`, each task acted on from its cycle's page (rebooking, ordering the dose)
    annotated with the cycle's public id (``cycle_ref``) for the link, in the same query (None
    for every other task)."""
    cycle = Cycle.objects.filter(course_id=OuterRef("course_id"), number=OuterRef("cycle"))
    return tasks.annotate(cycle_ref=Case(
        When(kind__in=CYCLE_PAGE_TASKS, then=Subquery(cycle.values("external_id")[:1])),
        default=None))


def tasks_held_by(user) -> QuerySet[CareTask]:
    """The open tasks `user` is responsible for: named to them, their centre's (navigators and
    specialists), or their patients' practice-owned ones (referring and primary oncologists).
    Only real obligations: a task done (by a person, or closed by NETcare from its record),
    skipped or cancelled is not held by anyone. Snoozed tasks are still held."""
    tasks = visible_tasks(user).filter(state=TaskState.OPEN)
    mine = Q(owner_party=OwnerParty.USER, owner_user=user)
    if user.role in (Role.NAVIGATOR, Role.SPECIALIST):
        mine |= Q(owner_party=OwnerParty.CENTRE)
    elif user.role == Role.REFERRING_ONCOLOGIST:
        mine |= Q(owner_party=OwnerParty.PRACTICE) & (
            Q(patient__primary_oncologist=user)
            | Q(patient__primary_oncologist__isnull=True, patient__referring_oncologist=user))
    return tasks.filter(mine).order_by("due", "kind", "cycle", "sequence", "pk")


@dataclass
class Digest:
    today: list[CareTask] = field(default_factory=list)
    overdue: list[CareTask] = field(default_factory=list)
    upcoming: list[CareTask] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.today or self.overdue or self.upcoming)


def navigator_digest(user, *, today: dt.date) -> Digest:
    """The open tasks of a navigator's patients: due today, overdue, due in the next 7 days;
    a snoozed task is left out until the day it wakes, as on the caseload."""
    digest = Digest()
    tasks = visible_tasks(user).filter(
        state=TaskState.OPEN, due__lte=today + dt.timedelta(days=UPCOMING_DAYS)
    ).exclude(snoozed_until__gt=today).order_by("due", "kind", "cycle", "sequence", "pk")
    for task in tasks:
        if task.due < today:
            digest.overdue.append(task)
        elif task.due == today:
            digest.today.append(task)
        else:
            digest.upcoming.append(task)
    return digest


def failed_reminders(user) -> QuerySet[Reminder]:
    """Reminders given up on for the patients `user` may see (and their own digests)."""
    about_patients = scope_to_patients(user, Reminder.objects.filter(
        state=ReminderState.FAILED, course__isnull=False), patient_path="course__patient")
    own = Reminder.objects.filter(state=ReminderState.FAILED, recipient_user=user,
                                  course__isnull=True)
    return (about_patients | own).select_related("task", "course__patient").order_by("-send_at")
