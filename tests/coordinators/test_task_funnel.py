"""Every change of a care task goes through one funnel: an event row, an audit row and a domain
event in the same transaction; NETcare's own changes are never credited to a person."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coordinators import services
from coordinators.models import CareTask, CareTaskEvent, TaskKind, TaskState
from coordinators.plan import plan_sync
from netcare import events
from netcare.models import AuditEvent
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from prrt import services as prrt_services
from referrals.models import ReferralEvent
from tests.prrt.builders import enter_labs, give

D = dt.date
C1 = D(2025, 1, 6)

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(course):
    plan_sync(course=course, today=D(2024, 12, 17))
    return CareTask.objects.get(course=course, kind=TaskKind.PRE_DOSE_LABS, cycle=1)


@pytest.fixture
def published(monkeypatch):
    seen: list[events.Event] = []
    original = events.publish

    def spy(event):
        seen.append(event)
        original(event)

    monkeypatch.setattr(events, "publish", spy)
    return seen


def _set_state(task: CareTask, state: str) -> CareTask:
    fields = {"state": state}
    if state == TaskState.DONE:
        fields["done_at"] = timezone.now()
    if state in (TaskState.SKIPPED, TaskState.CANCELLED):
        fields["reason"] = "set up by the test"
    CareTask.objects.filter(pk=task.pk).update(**fields)
    return CareTask.objects.get(pk=task.pk)


# (transition, who) -> the state it leads to from open, or the error it raises.
NAVIGATOR, SYSTEM, OUTSIDER = "navigator", "system", "outsider"
TABLE = [
    ("complete", NAVIGATOR, TaskState.DONE),
    ("complete", SYSTEM, TaskState.DONE),
    ("complete", OUTSIDER, TransitionForbidden),
    ("skip", NAVIGATOR, TaskState.SKIPPED),
    ("skip", OUTSIDER, TransitionForbidden),
    ("cancel", SYSTEM, TaskState.CANCELLED),
    ("cancel", NAVIGATOR, TransitionForbidden),  # only the plan cancels a task
]


@pytest.mark.parametrize(("name", "who", "expected"), TABLE)
def test_open_task_transitions_through_the_funnel(task, navigator, outside_navigator,
                                                  published, name, who, expected):
    actor = {NAVIGATOR: navigator, SYSTEM: None, OUTSIDER: outside_navigator}[who]
    reason = "" if name == "complete" else "A reason."
    before_audit = AuditEvent.objects.filter(object_id=str(task.external_id)).count()
    if isinstance(expected, type):
        with pytest.raises(expected):
            services.task_transition(task=task, name=name, actor=actor, reason=reason)
        assert CareTask.objects.get(pk=task.pk).state == TaskState.OPEN
        assert not CareTaskEvent.objects.filter(task=task).exists()
        assert AuditEvent.objects.filter(object_id=str(task.external_id)).count() == before_audit
        assert not [e for e in published if isinstance(e, events.TaskChanged)]
        return

    def apply(obj):
        if name == "complete":
            obj.done_at = timezone.now()
        else:
            obj.reason = reason

    services.task_transition(task=task, name=name, actor=actor, reason=reason,
                             after_apply=apply)
    assert CareTask.objects.get(pk=task.pk).state == expected
    row = CareTaskEvent.objects.get(task=task)
    assert (row.transition, row.source, row.target) == (name, TaskState.OPEN, expected)
    assert row.actor == actor and row.by_system == (actor is None)
    audit = AuditEvent.objects.filter(action=AuditEvent.Action.TRANSITION,
                                      object_type="coordinators.CareTask",
                                      object_id=str(task.external_id)).get()
    assert audit.changes == {"state": [TaskState.OPEN, expected]}
    assert audit.actor == actor and audit.by_system == (actor is None)
    assert audit.patient_id == task.patient.external_id
    changed = [e for e in published if isinstance(e, events.TaskChanged)]
    assert [(e.object_id, e.transition, e.source, e.target, e.course_id) for e in changed] == [
        (task.pk, name, TaskState.OPEN, expected, task.course_id)]


@pytest.mark.parametrize("state", [TaskState.DONE, TaskState.SKIPPED, TaskState.CANCELLED])
@pytest.mark.parametrize("name", ["complete", "skip", "cancel"])
def test_a_closed_task_cannot_move_again(task, navigator, state, name):
    task = _set_state(task, state)
    actor = None if name == "cancel" else navigator
    with pytest.raises(TransitionConflict):
        services.task_transition(task=task, name=name, actor=actor, reason="A reason.")
    assert not CareTaskEvent.objects.filter(task=task).exists()


def test_only_a_cancelled_task_reopens_and_only_by_the_plan(task, navigator):
    with pytest.raises(TransitionConflict):
        services.task_reopen_by_plan(task=task)
    task = _set_state(task, TaskState.CANCELLED)
    with pytest.raises(TransitionForbidden):
        services.task_transition(task=task, name="reopen", actor=navigator, reason="Again.")
    services.task_reopen_by_plan(task=task)
    task.refresh_from_db()
    assert task.state == TaskState.OPEN and task.reason == ""
    row = CareTaskEvent.objects.get(task=task)
    assert (row.transition, row.source, row.target, row.actor) == (
        "reopen", TaskState.CANCELLED, TaskState.OPEN, None)


def test_skip_and_cancel_need_a_reason(task, navigator):
    with pytest.raises(TransitionInvalid):
        services.task_skip(actor=navigator, task=task, reason="  ")
    with pytest.raises(TransitionInvalid):
        services.task_transition(task=task, name="cancel", actor=None, reason="")


def test_reassign_and_snooze_write_the_same_rows(task, navigator, specialist, published):
    services.task_reassign(actor=navigator, task=task, owner_user=specialist, reason="Covering.")
    services.task_snooze(actor=navigator, task=task, until=D(2025, 1, 2), reason="Holiday.")
    rows = list(CareTaskEvent.objects.filter(task=task).values_list(
        "transition", "source", "target", "actor", "reason"))
    assert rows == [("reassign", "open", "open", navigator.pk, "Covering."),
                    ("snooze", "open", "open", navigator.pk, "Holiday.")]
    assert AuditEvent.objects.filter(object_type="coordinators.CareTask",
                                     action=AuditEvent.Action.UPDATE, actor=navigator).count() == 2
    assert [e.transition for e in published if isinstance(e, events.TaskChanged)] == [
        "reassign", "snooze"]


def test_computed_changes_are_the_systems_never_a_persons(
        course, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    """Plan sync, fulfilment from the infusion record and the referral back after a course
    ends are NETcare's acts: no actor on the event rows, by_system on the audit rows."""
    with django_capture_on_commit_callbacks(execute=True):
        plan_sync(course=course, today=D(2024, 12, 17))
        enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = course.cycles.get(number=1)
    assert c1.state == "ready"  # readiness followed the labs on commit, no sweep needed
    with django_capture_on_commit_callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                                   activity_gbq="7.4", today=C1 - dt.timedelta(days=1))
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        give(navigator, course.cycles.get(number=1), C1)
    infusion = CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=1)
    assert infusion.state == TaskState.DONE and infusion.done_by is None
    done = CareTaskEvent.objects.get(task=infusion)
    assert done.actor is None and done.by_system
    audit = AuditEvent.objects.get(object_type="coordinators.CareTask",
                                   object_id=str(infusion.external_id))
    assert audit.actor is None and audit.by_system

    # The specialist discontinues: the plan cancels what is left, as NETcare.
    time_machine.move_to(dt.datetime(2025, 2, 20, 9, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        prrt_services.course_discontinue(actor=specialist, course=course,
                                         reason="Progression on imaging.")
    cancelled = CareTask.objects.filter(course=course, state=TaskState.CANCELLED)
    assert cancelled.exists()
    assert not CareTaskEvent.objects.filter(task__in=cancelled, actor__isnull=False).exists()
    assert not AuditEvent.objects.filter(object_type="coordinators.CareTask",
                                         action=AuditEvent.Action.TRANSITION,
                                         actor__isnull=False).exclude(
        object_id=str(infusion.external_id)).exists()
    # Nobody is referred back by the system: the plan asks a person to send the course letter.
    assert not ReferralEvent.objects.filter(referral=course.referral,
                                            transition="refer_back").exists()
    refer_back = CareTask.objects.get(course=course, kind=TaskKind.REFERRAL_FOLLOW_UP)
    assert refer_back.state == TaskState.OPEN and refer_back.earliest == D(2025, 1, 14)

