"""Read queries of the coordination side, scoped through netcare.access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from coordinators.models import CareTask, OwnerParty, Reminder, ReminderState, TaskState
from netcare.access import scope_to_patients
from netcare.models import Role

UPCOMING_DAYS = 7


def visible_tasks(user) -> QuerySet[CareTask]:
    """Every care task of the patients `user` may see."""
    return scope_to_patients(user, CareTask.objects.all()).select_related(
        "patient", "course", "owner_user")


def tasks_held_by(user) -> QuerySet[CareTask]:
    """The open tasks `user` is responsible for: named to them, their centre's (navigators and
    specialists), or their patients' practice-owned ones (referring and primary oncologists)."""
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
    """The open tasks of a navigator's patients: due today, overdue, due in the next 7 days."""
    digest = Digest()
    tasks = visible_tasks(user).filter(
        state=TaskState.OPEN, due__lte=today + dt.timedelta(days=UPCOMING_DAYS)
    ).order_by("due", "kind", "cycle", "sequence", "pk")
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
