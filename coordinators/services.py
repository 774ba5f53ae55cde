"""Care-task verbs: every change of a CareTask goes through one funnel.

A person completes, skips, reassigns or snoozes a task; NETcare itself completes a task whose
record fulfils it and cancels or reopens tasks when the plan changes. Each state change runs
through :func:`netcare.workflow.run_transition` (row lock, state and permission check, a
:class:`~coordinators.models.CareTaskEvent` row, an audit row, a ``TaskChanged`` domain event);
reassignments and snoozes write the same event and audit rows. NETcare's own changes are recorded
with no actor (the system), never credited to a person. The task's reminders are re-synced in the
same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from coordinators.models import UNPLANNED_KINDS, CareTask, CareTaskEvent, OwnerParty, TaskState
from coordinators.reminders import reminders_sync
from netcare import audit, events
from netcare.access import can_change_patient, can_view_patient
from netcare.clock import centre_today, plan_date_error
from netcare.workflow import (
    Step,
    TransitionConflict,
    TransitionForbidden,
    TransitionInvalid,
    run_transition,
)
from prrt.models import TreatmentCourse

STEPS = {
    "complete": Step("complete", "mark the task done"),
    "skip": Step("skip", "skip the task", reason_required=True),
    "cancel": Step("cancel", "cancel the task", reason_required=True),
    "reopen": Step("reopen", "reopen the task", reason_required=True),
}


def _changed(name: str, actor) -> Callable[[CareTask, str, str], events.TaskChanged]:
    def event(obj: CareTask, source: str, target: str) -> events.TaskChanged:
        return events.TaskChanged(model="coordinators.CareTask", object_id=obj.pk,
                                  transition=name, source=source, target=target,
                                  actor_id=getattr(actor, "pk", None), course_id=obj.course_id)
    return event


def task_transition(*, task: CareTask, name: str, actor, reason: str = "",
                    after_apply: Callable[[CareTask], object] | None = None) -> CareTask:
    """Take the transition `name` on `task` as `actor` (None: NETcare itself), through the
    funnel, with its event row, audit row and domain event."""
    reason = (reason or "").strip()

    def record(obj: CareTask, source: str, target: str) -> None:
        CareTaskEvent.objects.create(task=obj, actor=actor, transition=name, source=source,
                                     target=target, reason=reason)

    return run_transition(
        queryset=CareTask.objects.select_related("course__centre", "patient"), pk=task.pk,
        step=STEPS[name], actor=actor, reason=reason, record_event=record,
        after_apply=after_apply, event=_changed(name, actor))


def _record_change(*, actor, task: CareTask, name: str, before: dict, reason: str) -> None:
    """A change of an open task that is not a state change (reassign, snooze): same rows."""
    CareTaskEvent.objects.create(task=task, actor=actor, transition=name, source=task.state,
                                 target=task.state, reason=reason)
    audit.record_update(actor=actor, obj=task, before=before, note=reason)
    events.publish(_changed(name, actor)(task, task.state, task.state))


# --- what NETcare does by itself ------------------------------------------------------------


def task_fulfil(*, task: CareTask, done_at: dt.datetime, value: str, reason: str,
                record: str = "") -> CareTask:
    """NETcare marks an open task done because the record shows its obligation met; `record`
    links the record that met it ("app.Model:<external id>")."""
    def apply(obj: CareTask) -> None:
        obj.done_at, obj.done_by, obj.value, obj.fulfilled_by = done_at, None, value, record

    return task_transition(task=task, name="complete", actor=None, reason=reason,
                           after_apply=apply)


def task_cancel_by_plan(*, task: CareTask, reason: str) -> CareTask:
    """The plan no longer asks for this open task."""
    def apply(obj: CareTask) -> None:
        obj.reason = reason

    return task_transition(task=task, name="cancel", actor=None, reason=reason,
                           after_apply=apply)


def task_reopen_by_plan(*, task: CareTask,
                        apply: Callable[[CareTask], object] | None = None) -> CareTask:
    """The plan needs a cancelled task again; `apply` moves it to the plan's dates."""
    def reopen(obj: CareTask) -> None:
        obj.reason = ""
        if apply is not None:
            apply(obj)

    return task_transition(task=task, name="reopen", actor=None,
                           reason="Needed again by the plan.", after_apply=reopen)


# --- what people do -------------------------------------------------------------------------


def task_create_by_person(*, actor, course, kind: str, due: dt.date, owner_party: str,
                          owner_user=None, note: str = "", earliest: dt.date | None = None
                          ) -> CareTask:
    """A task that is not the plan's (an MDT outcome's follow-up action: UNPLANNED_KINDS), made
    by `actor` on `course`: the next free sequence of (course, kind, cycle 0), owned by the
    centre, the practice or `owner_user`, due on `due` (open from `earliest`, else `due`).
    Re-planning never moves or cancels it. A "create" event row, an audit row and a
    ``TaskChanged`` domain event, and the course's reminders re-synced, in one transaction."""
    if kind not in UNPLANNED_KINDS:
        raise TransitionInvalid("Only tasks outside the plan are made by hand.", field="kind")
    if owner_party not in OwnerParty.values or (owner_party == OwnerParty.USER) != (
            owner_user is not None):
        raise TransitionInvalid("Name a user, or the centre or the practice.", field="owner")
    earliest = earliest if earliest is not None and earliest <= due else due
    with transaction.atomic():
        # The course row lock serialises two people numbering tasks of one course.
        locked = (TreatmentCourse.objects.select_for_update(of=("self",))
                  .select_related("centre", "patient").get(pk=course.pk))
        if actor is None or not can_change_patient(actor, locked.patient):
            raise TransitionForbidden("You cannot add tasks for this patient.")
        if owner_user is not None and not (owner_user.is_active
                                           and can_view_patient(owner_user, locked.patient)):
            raise TransitionInvalid("That user cannot see this patient.", field="owner")
        date_error = plan_date_error(due, today=centre_today(locked.centre), what="The due day")
        if date_error:
            raise TransitionInvalid(date_error, field="due")
        last = (CareTask.objects.filter(course=locked, kind=kind, cycle=0)
                .order_by("-sequence").values_list("sequence", flat=True).first())
        task = CareTask.objects.create(
            course=locked, patient=locked.patient, kind=kind, cycle=0,
            sequence=(last or 0) + 1, owner_party=owner_party, owner_user=owner_user,
            earliest=earliest, due=due, latest=due, basis="planned", note=note.strip())
        CareTaskEvent.objects.create(task=task, actor=actor, transition="create", source="",
                                     target=task.state, reason=task.note)
        audit.record_create(actor=actor, obj=task)
        events.publish(_changed("create", actor)(task, "", task.state))
        reminders_sync(locked, today=centre_today(locked.centre))
    return task


def _check_may_act(actor, task: CareTask) -> None:
    if actor is None or not can_change_patient(actor, task.patient):
        raise TransitionForbidden("You cannot change this task.")


def task_complete(*, actor, task: CareTask, done_at: dt.datetime | None = None,
                  value: str = "") -> CareTask:
    """Mark an open task done (by `actor`, at `done_at`, with what was recorded); its unsent
    reminders are cancelled."""
    done_at = done_at or timezone.now()
    if done_at.tzinfo is None:
        raise TransitionInvalid("Give the time with its time zone.", field="done_at")
    if done_at > timezone.now() + dt.timedelta(minutes=5):
        raise TransitionInvalid("A task cannot be done in the future.", field="done_at")

    def apply(obj: CareTask) -> None:
        obj.done_at, obj.done_by, obj.value = done_at, actor, (value or "").strip()

    with transaction.atomic():
        task = task_transition(task=task, name="complete", actor=actor, after_apply=apply)
        reminders_sync(task.course, today=centre_today(task.course.centre))
    return task


def task_skip(*, actor, task: CareTask, reason: str) -> CareTask:
    """Skip an open task, with the reason (e.g. done elsewhere, not clinically needed)."""
    def apply(obj: CareTask) -> None:
        obj.reason = reason.strip()

    with transaction.atomic():
        task = task_transition(task=task, name="skip", actor=actor, reason=reason,
                               after_apply=apply)
        reminders_sync(task.course, today=centre_today(task.course.centre))
    return task


def _locked_open_task(actor, task: CareTask) -> CareTask:
    locked = (CareTask.objects.select_for_update(of=("self",))
              .select_related("patient", "course__centre").get(pk=task.pk))
    _check_may_act(actor, locked)
    if locked.state != TaskState.OPEN:
        raise TransitionConflict(f"The task is {locked.get_state_display().lower()} now.")
    return locked


def task_reassign(*, actor, task: CareTask, owner_user=None, owner_party: str | None = None,
                  reason: str = "") -> CareTask:
    """Give an open task to a named user (who must be able to see the patient) or back to the
    centre or the referring practice. Re-planning keeps a named owner."""
    if (owner_user is None) == (owner_party is None) or owner_party == OwnerParty.USER:
        raise TransitionInvalid("Name a user, or the centre or the practice.", field="owner")
    if owner_party is not None and owner_party not in OwnerParty.values:
        raise TransitionInvalid(f"Unknown owner '{owner_party}'.", field="owner")
    with transaction.atomic():
        locked = _locked_open_task(actor, task)
        if owner_user is not None and not (owner_user.is_active
                                           and can_view_patient(owner_user, locked.patient)):
            raise TransitionInvalid("That user cannot see this patient.", field="owner")
        before = audit.snapshot(locked, ["owner_party", "owner_user_id"])
        locked.owner_party = OwnerParty.USER if owner_user is not None else owner_party
        locked.owner_user = owner_user
        locked.save(update_fields=["owner_party", "owner_user", "updated_at"])
        _record_change(actor=actor, task=locked, name="reassign", before=before,
                       reason=reason.strip())
        reminders_sync(locked.course, today=centre_today(locked.course.centre))
    return locked


def task_snooze(*, actor, task: CareTask, until: dt.date, reason: str) -> CareTask:
    """Hold an open task's reminders until `until` (a later day), with the reason; its dates
    do not change."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionInvalid("A reason is required to snooze the task.", field="reason")
    with transaction.atomic():
        locked = _locked_open_task(actor, task)
        if until <= centre_today(locked.course.centre):
            raise TransitionInvalid("Snooze until a later day.", field="until")
        date_error = plan_date_error(until, today=centre_today(locked.course.centre),
                                     what="The day")
        if date_error:
            raise TransitionInvalid(date_error, field="until")
        before = audit.snapshot(locked, ["snoozed_until", "reason"])
        locked.snoozed_until, locked.reason = until, reason
        locked.save(update_fields=["snoozed_until", "reason", "updated_at"])
        _record_change(actor=actor, task=locked, name="snooze", before=before, reason=reason)
        reminders_sync(locked.course, today=centre_today(locked.course.centre))
    return locked


def task_set_appointment(*, actor, task: CareTask, at: dt.datetime | None, place: str = "",
                         note: str = "") -> CareTask:
    """Record when and where an open task is met (a lab draw booked at the practice, a scan
    slot), with a note; `at` None clears the appointment. The task's dates do not change; the
    change is recorded like a reassignment and the course's reminders are re-synced."""
    place, note = (place or "").strip(), (note or "").strip()
    if at is not None and timezone.is_naive(at):
        raise TransitionInvalid("Give the time with its time zone.", field="appointment_at")
    if at is not None:
        date_error = plan_date_error(at.astimezone(dt.UTC).date(), today=timezone.localdate(),
                                     what="The appointment")
        if date_error:
            raise TransitionInvalid(date_error, field="appointment_at")
    if at is None:
        place = note = ""
    if len(place) > CareTask._meta.get_field("appointment_place").max_length:  # noqa: SLF001
        raise TransitionInvalid("The place is too long.", field="appointment_place")
    if len(note) > CareTask._meta.get_field("appointment_note").max_length:  # noqa: SLF001
        raise TransitionInvalid("The note is too long.", field="appointment_note")
    with transaction.atomic():
        locked = _locked_open_task(actor, task)
        before = audit.snapshot(locked, ["appointment_at", "appointment_place",
                                         "appointment_note"])
        locked.appointment_at, locked.appointment_place, locked.appointment_note = at, place, note
        locked.save(update_fields=["appointment_at", "appointment_place", "appointment_note",
                                   "updated_at"])
        _record_change(actor=actor, task=locked, name="appointment", before=before, reason=note)
        reminders_sync(locked.course, today=centre_today(locked.course.centre))
    return locked
