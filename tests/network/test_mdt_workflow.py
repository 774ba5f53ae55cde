"""MDT meetings and cases through the funnel: every state × step (allowed, or a conflict that
changes nothing), each change with its event row and audit row; the signed outcome read-only
(the services refuse, the database's constraints hold); follow-up actions as care tasks on the
patient's course, or as MDT actions without one; the referring oncologist told by email."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from coordinators.models import CareTask, CareTaskEvent, OwnerParty, TaskKind, TaskState
from coordinators.plan import plan_sync
from netcare import tasks as netcare_tasks
from netcare.models import AuditEvent, Notification, Role
from netcare.notifications import notification_email_send
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from network import mdt
from network.models import (
    CaseState,
    Discipline,
    MdtAction,
    MdtCase,
    MdtEvent,
    MdtMeeting,
    MdtMember,
    MeetingState,
)
from tests.factories import PatientFactory, UserFactory
from tests.network.mdt_builders import (
    chair_member,
    list_case,
    schedule,
    set_case_state,
    set_meeting_state,
)
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _now(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def meeting(specialist, navigator):
    return schedule(navigator, chair=specialist,
                    starts_at=dt.datetime(2025, 3, 4, 13, 0, tzinfo=dt.UTC))


@pytest.fixture
def case(meeting, navigator, patient):
    return list_case(navigator, meeting, patient)


def _rows(obj) -> tuple[int, int]:
    """(MDT event rows, transition audit rows) about `obj`."""
    events = MdtEvent.objects.filter(**({"case": obj} if isinstance(obj, MdtCase)
                                        else {"meeting": obj, "case": None})).count()
    audits = AuditEvent.objects.filter(object_id=str(obj.external_id),
                                       action=AuditEvent.Action.TRANSITION).count()
    return events, audits


# --- meetings: every state × step --------------------------------------------------------------

MEETING_TABLE = [
    (MeetingState.SCHEDULED, "hold", MeetingState.HELD),
    (MeetingState.SCHEDULED, "close", TransitionConflict),
    (MeetingState.SCHEDULED, "cancel", MeetingState.CANCELLED),
    (MeetingState.HELD, "hold", TransitionConflict),
    (MeetingState.HELD, "close", MeetingState.CLOSED),
    (MeetingState.HELD, "cancel", TransitionConflict),
    (MeetingState.CLOSED, "hold", TransitionConflict),
    (MeetingState.CLOSED, "close", TransitionConflict),
    (MeetingState.CLOSED, "cancel", TransitionConflict),
    (MeetingState.CANCELLED, "hold", TransitionConflict),
    (MeetingState.CANCELLED, "close", TransitionConflict),
    (MeetingState.CANCELLED, "cancel", TransitionConflict),
]


@pytest.mark.parametrize(("state", "step", "expected"), MEETING_TABLE)
def test_meeting_state_by_step(meeting, navigator, state, step, expected):
    meeting = set_meeting_state(meeting, state)
    before = _rows(meeting)
    reason = "The chair is away." if step == "cancel" else ""
    if isinstance(expected, type):
        with pytest.raises(expected):
            mdt.meeting_transition(actor=navigator, meeting=meeting, name=step, reason=reason)
        assert MdtMeeting.objects.get(pk=meeting.pk).state == state
        assert _rows(meeting) == before
        return
    mdt.meeting_transition(actor=navigator, meeting=meeting, name=step, reason=reason)
    assert MdtMeeting.objects.get(pk=meeting.pk).state == expected
    assert _rows(meeting) == (before[0] + 1, before[1] + 1)
    event = MdtEvent.objects.filter(meeting=meeting, case=None).latest("id")
    assert (event.transition, event.source, event.target, event.actor) == (
        step, state, expected, navigator)
    row = AuditEvent.objects.filter(object_id=str(meeting.external_id),
                                    action=AuditEvent.Action.TRANSITION).latest("id")
    assert row.actor == navigator and row.changes == {"state": [state, expected]}


@pytest.mark.parametrize("who", ["oncologist", "outside_navigator", "administrator"])
def test_only_the_centres_team_moves_a_meeting(meeting, request, who):
    with pytest.raises(TransitionForbidden):
        mdt.meeting_transition(actor=request.getfixturevalue(who), meeting=meeting,
                               name="hold")
    assert MdtMeeting.objects.get(pk=meeting.pk).state == MeetingState.SCHEDULED


def test_cancelling_needs_a_reason_and_defers_the_listed_cases(meeting, case, navigator):
    with pytest.raises(TransitionInvalid) as refused:
        mdt.meeting_transition(actor=navigator, meeting=meeting, name="cancel", reason=" ")
    assert refused.value.field == "reason"
    mdt.meeting_transition(actor=navigator, meeting=meeting, name="cancel",
                           reason="Bank holiday.")
    case.refresh_from_db()
    assert case.state == CaseState.DEFERRED
    assert case.reason == "The meeting was cancelled: Bank holiday."
    assert MdtEvent.objects.filter(case=case, transition="defer").count() == 1


def test_a_meeting_closes_only_when_every_case_is_decided(meeting, case, navigator):
    meeting = set_meeting_state(meeting, MeetingState.HELD)
    with pytest.raises(TransitionInvalid) as refused:
        mdt.meeting_transition(actor=navigator, meeting=meeting, name="close")
    assert refused.value.field == "cases"
    mdt.case_transition(actor=navigator, case=case, name="withdraw", reason="Seen in clinic.")
    assert mdt.meeting_transition(actor=navigator, meeting=meeting,
                                  name="close").state == MeetingState.CLOSED


def test_scheduling_checks_its_input(navigator, specialist, oncologist, outside_navigator):
    starts = dt.datetime(2025, 3, 10, 13, 0, tzinfo=dt.UTC)
    with pytest.raises(TransitionInvalid) as refused:
        mdt.meeting_schedule(actor=navigator, starts_at=starts, chair=specialist)
    assert refused.value.field == "place"
    with pytest.raises(TransitionInvalid) as refused:
        mdt.meeting_schedule(actor=navigator, starts_at=starts.replace(tzinfo=None),
                             chair=specialist, place="Room 4")
    assert refused.value.field == "starts_at"
    with pytest.raises(TransitionInvalid) as refused:  # more than two years ahead
        mdt.meeting_schedule(actor=navigator, starts_at=starts.replace(year=2027, month=3,
                                                                       day=4),
                             chair=specialist, place="Room 4")
    assert refused.value.field == "starts_at"
    with pytest.raises(TransitionInvalid) as refused:
        mdt.meeting_schedule(actor=navigator, starts_at=starts, chair=outside_navigator,
                             place="Room 4")
    assert refused.value.field == "chair"
    with pytest.raises(TransitionInvalid) as refused:
        mdt.meeting_schedule(actor=navigator, starts_at=starts, chair=specialist,
                             video_link="http://video.example/room")
    assert refused.value.field == "video_link"
    with pytest.raises(TransitionForbidden):
        mdt.meeting_schedule(actor=oncologist, starts_at=starts, chair=specialist,
                             place="Room 4")
    meeting = mdt.meeting_schedule(actor=navigator, starts_at=starts, chair=specialist,
                                   video_link="https://video.example/net-mdt")
    assert meeting.state == MeetingState.SCHEDULED and meeting.centre == navigator.centre
    assert list(meeting.members.values_list("user", "discipline")) == [
        (specialist.pk, Discipline.NET_ONCOLOGY)]
    assert MdtEvent.objects.get(meeting=meeting).transition == "schedule"
    assert AuditEvent.objects.filter(object_id=str(meeting.external_id),
                                     action=AuditEvent.Action.CREATE, actor=navigator).exists()


# --- cases: every state × step -----------------------------------------------------------------

CASE_TABLE = [
    (CaseState.LISTED, "sign", CaseState.DISCUSSED),
    (CaseState.LISTED, "defer", CaseState.DEFERRED),
    (CaseState.LISTED, "withdraw", CaseState.WITHDRAWN),
    (CaseState.DISCUSSED, "sign", TransitionConflict),
    (CaseState.DISCUSSED, "defer", TransitionConflict),
    (CaseState.DISCUSSED, "withdraw", TransitionConflict),
    (CaseState.DEFERRED, "sign", TransitionConflict),
    (CaseState.DEFERRED, "defer", TransitionConflict),
    (CaseState.DEFERRED, "withdraw", TransitionConflict),
    (CaseState.WITHDRAWN, "sign", TransitionConflict),
    (CaseState.WITHDRAWN, "defer", TransitionConflict),
    (CaseState.WITHDRAWN, "withdraw", TransitionConflict),
]


def _take(step, case, specialist):
    meeting = case.meeting
    if step == "sign":
        return mdt.case_sign(actor=specialist, case=case, recommendation="prrt",
                             rationale="Progression on SSA, SSTR positive, Ki-67 4 %.",
                             attendees=[meeting.members.order_by("id").first()])
    return mdt.case_transition(actor=specialist, case=case, name=step,
                               reason="Awaiting the new CT.")


@pytest.mark.parametrize(("state", "step", "expected"), CASE_TABLE)
def test_case_state_by_step(meeting, case, specialist, state, step, expected):
    set_meeting_state(meeting, MeetingState.HELD)
    case = set_case_state(case, state, signer=specialist)
    before = _rows(case)
    if isinstance(expected, type):
        with pytest.raises(expected):
            _take(step, case, specialist)
        assert MdtCase.objects.get(pk=case.pk).state == state
        assert _rows(case) == before
        assert not MdtAction.objects.exists()
        return
    _take(step, case, specialist)
    case = MdtCase.objects.get(pk=case.pk)
    assert case.state == expected
    assert _rows(case) == (before[0] + 1, before[1] + 1)
    event = MdtEvent.objects.filter(case=case).latest("id")
    assert (event.transition, event.source, event.target, event.actor) == (
        step, state, expected, specialist)
    row = AuditEvent.objects.filter(object_id=str(case.external_id),
                                    action=AuditEvent.Action.TRANSITION).latest("id")
    assert row.actor == specialist and row.patient_id == case.patient.external_id


@pytest.mark.parametrize("step", ["defer", "withdraw"])
def test_deferring_or_withdrawing_needs_a_reason(case, navigator, step):
    with pytest.raises(TransitionInvalid) as refused:
        mdt.case_transition(actor=navigator, case=case, name=step, reason="")
    assert refused.value.field == "reason"
    assert MdtCase.objects.get(pk=case.pk).state == CaseState.LISTED


def test_an_outcome_is_signed_only_in_a_held_meeting(case, specialist):
    with pytest.raises(TransitionConflict) as refused:
        _take("sign", case, specialist)
    assert refused.value.field == "meeting"
    assert MdtCase.objects.get(pk=case.pk).state == CaseState.LISTED


def test_who_signs(meeting, case, navigator, specialist, centre):
    """The chair (here a navigator) or a NET specialist of the centre; no one else."""
    set_meeting_state(meeting, MeetingState.HELD)
    other_navigator = UserFactory(role=Role.NAVIGATOR, centre=centre)
    with pytest.raises(TransitionForbidden):
        _take("sign", case, other_navigator)
    MdtMeeting.objects.filter(pk=meeting.pk).update(chair=navigator)
    case = MdtCase.objects.get(pk=case.pk)
    assert _take("sign", case, navigator).signed_by == navigator


def test_the_outcome_checks_its_input(meeting, case, specialist, outside_navigator):
    set_meeting_state(meeting, MeetingState.HELD)
    member = chair_member(meeting)

    def sign(**overrides):
        args = {"actor": specialist, "case": case, "recommendation": "prrt",
                "rationale": "Progression on SSA.", "attendees": [member], "actions": []}
        return mdt.case_sign(**{**args, **overrides})

    for overrides, field in [
        ({"recommendation": "chemo"}, "recommendation"),
        ({"rationale": "  "}, "rationale"),
        ({"attendees": []}, "attendees"),
        ({"actions": [mdt.ActionInput("", OwnerParty.CENTRE, TODAY)]}, "actions.0.text"),
        ({"actions": [mdt.ActionInput("CT", "somebody", TODAY)]}, "actions.0.owner_party"),
        ({"actions": [mdt.ActionInput("CT", OwnerParty.USER, TODAY, outside_navigator)]},
         "actions.0.owner_user"),
        ({"actions": [mdt.ActionInput("CT", OwnerParty.CENTRE,
                                      TODAY - dt.timedelta(days=1))]}, "actions.0.due"),
        ({"actions": [mdt.ActionInput("CT", OwnerParty.CENTRE, dt.date(2027, 3, 4))]},
         "actions.0.due"),
    ]:
        with pytest.raises(TransitionInvalid) as refused:
            sign(**overrides)
        assert refused.value.field == field, overrides
    assert MdtCase.objects.get(pk=case.pk).state == CaseState.LISTED
    # The boundaries that are accepted: due today, and two years ahead to the day.
    signed = sign(actions=[mdt.ActionInput("Book CT", OwnerParty.CENTRE, TODAY),
                           mdt.ActionInput("Review", OwnerParty.CENTRE, dt.date(2027, 3, 3))])
    assert signed.state == CaseState.DISCUSSED


# --- read-only after signing -------------------------------------------------------------------


def test_a_signed_outcome_is_read_only(meeting, case, specialist, navigator):
    set_meeting_state(meeting, MeetingState.HELD)
    member = chair_member(meeting)
    signed = _take("sign", case, specialist)
    summary = signed.summary
    with pytest.raises(TransitionConflict):
        mdt.case_refresh_summary(actor=navigator, case=signed)
    with pytest.raises(TransitionConflict):
        _take("sign", signed, specialist)
    with pytest.raises(TransitionConflict):
        mdt.case_transition(actor=navigator, case=signed, name="withdraw", reason="Oops.")
    guest = mdt.member_add(actor=navigator, meeting=meeting, external_name="Dr Guest",
                           discipline=Discipline.SURGERY)
    signed.attendees.add(guest)
    with pytest.raises(TransitionConflict):  # took part in a signed case
        mdt.member_remove(actor=navigator, member=guest)
    with pytest.raises(TransitionConflict):  # the chair
        mdt.member_remove(actor=navigator, member=member)
    signed = MdtCase.objects.get(pk=case.pk)
    assert (signed.state, signed.recommendation, signed.summary) == (
        CaseState.DISCUSSED, "prrt", summary)


def test_the_database_keeps_a_signed_case_signed(case, specialist):
    with pytest.raises(IntegrityError), transaction.atomic():  # discussed without a signature
        MdtCase.objects.filter(pk=case.pk).update(state=CaseState.DISCUSSED,
                                                  recommendation="prrt", rationale="x")
    with pytest.raises(IntegrityError), transaction.atomic():  # a signature on a listed case
        MdtCase.objects.filter(pk=case.pk).update(signed_by=specialist,
                                                  signed_at=timezone.now())
    set_case_state(case, CaseState.DISCUSSED, signer=specialist)
    with pytest.raises(IntegrityError), transaction.atomic():  # the recommendation wiped
        MdtCase.objects.filter(pk=case.pk).update(recommendation="")
    with pytest.raises(IntegrityError), transaction.atomic():  # the state moved back
        MdtCase.objects.filter(pk=case.pk).update(state=CaseState.LISTED)


# --- listing, members, invitations -------------------------------------------------------------


def test_listing_a_case(meeting, navigator, patient, other_centre, oncologist):
    case = list_case(navigator, meeting, patient, question="  Which line next?  ")
    assert (case.question, case.position, case.state) == ("Which line next?", 1,
                                                          CaseState.LISTED)
    assert case.summary["as_of"] == TODAY.isoformat()
    assert MdtEvent.objects.get(case=case).transition == "list"
    assert AuditEvent.objects.get(object_id=str(case.external_id),
                                  action=AuditEvent.Action.CREATE).patient_id \
        == patient.external_id
    with pytest.raises(TransitionConflict):  # already on the list
        list_case(navigator, meeting, patient)
    elsewhere = PatientFactory(centre=other_centre, referring_oncologist=oncologist)
    with pytest.raises(TransitionInvalid) as refused:
        list_case(navigator, meeting, elsewhere)
    assert refused.value.field == "patient"
    second = list_case(navigator, meeting, PatientFactory(centre=meeting.centre))
    assert second.position == 2
    with pytest.raises(TransitionInvalid) as refused:
        list_case(navigator, meeting, PatientFactory(centre=meeting.centre), question=" ")
    assert refused.value.field == "question"
    with pytest.raises(TransitionForbidden):
        list_case(oncologist, meeting, patient)
    set_meeting_state(meeting, MeetingState.CLOSED)
    with pytest.raises(TransitionConflict):
        list_case(navigator, meeting, PatientFactory(centre=meeting.centre))


def test_refreshing_the_summary_reads_the_record_again(meeting, case, navigator, patient):
    assert "tumour" not in case.summary
    from patients.services import tumour_profile_save

    tumour_profile_save(actor=navigator, patient=patient, data={
        "primary_site": "pancreas", "differentiation": "well", "ki67_percent": "12"})
    refreshed = mdt.case_refresh_summary(actor=navigator, case=case)
    assert refreshed.summary["tumour"]["who_grade"] == "G2"
    assert MdtEvent.objects.filter(case=case, transition="refresh_summary").count() == 1
    assert AuditEvent.objects.filter(object_id=str(case.external_id),
                                     action=AuditEvent.Action.UPDATE).count() == 1


def test_members_are_added_and_removed_through_the_funnel(meeting, navigator, specialist,
                                                          oncologist, outside_navigator):
    guest = mdt.member_add(actor=navigator, meeting=meeting, external_name="Dr Pathology",
                           discipline=Discipline.PATHOLOGY, virtual=True)
    assert (guest.name, guest.virtual) == ("Dr Pathology", True)
    for kwargs, field in [({"user": outside_navigator}, "user"),
                          ({"user": oncologist}, "user"),
                          ({}, "user"),
                          ({"user": navigator, "external_name": "Both"}, "user")]:
        with pytest.raises(TransitionInvalid) as refused:
            mdt.member_add(actor=navigator, meeting=meeting, discipline=Discipline.NURSING,
                           **kwargs)
        assert refused.value.field == field
    with pytest.raises(TransitionConflict):
        mdt.member_add(actor=navigator, meeting=meeting, user=specialist,
                       discipline=Discipline.NET_ONCOLOGY)
    mdt.member_set_attended(actor=navigator, member=guest, attended=True)
    assert MdtMember.objects.get(pk=guest.pk).attended is True
    mdt.member_remove(actor=navigator, member=guest)
    assert not MdtMember.objects.filter(pk=guest.pk).exists()
    assert list(MdtEvent.objects.filter(meeting=meeting).values_list("transition", flat=True)) \
        == ["schedule", "member_add", "attendance", "member_remove"]
    assert AuditEvent.objects.filter(object_id=str(guest.external_id)).count() == 3


def test_inviting_the_referring_oncologist(meeting, case, navigator, oncologist, oncologist2,
                                           django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(netcare_tasks.email_notification, "delay",
                        lambda **kw: notification_email_send(**kw))
    with pytest.raises(TransitionInvalid) as refused:
        mdt.member_invite_oncologist(actor=navigator, case=case, oncologist=oncologist2)
    assert refused.value.field == "oncologist"
    with django_capture_on_commit_callbacks(execute=True):
        member = mdt.member_invite_oncologist(actor=navigator, case=case)
    assert (member.user, member.virtual, member.discipline) == (
        oncologist, True, Discipline.MEDICAL_ONCOLOGY)
    assert MdtEvent.objects.get(case=case, transition="invite").actor == navigator
    notification = Notification.objects.get(recipient=oncologist)
    assert notification.url == f"/network/mdt/{meeting.external_id}/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [oncologist.email]
    assert "Tuesday 04 March 2025 at 13:00" in mail.outbox[0].body
    with pytest.raises(TransitionConflict):
        mdt.member_invite_oncologist(actor=navigator, case=case)


# --- the actions: care tasks on the course, or MDT actions -------------------------------------


def test_signed_actions_become_care_tasks_on_the_current_course(
        centre, oncologist, specialist, navigator, django_capture_on_commit_callbacks,
        monkeypatch):
    monkeypatch.setattr(netcare_tasks.email_notification, "delay",
                        lambda **kw: notification_email_send(**kw))
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=TODAY + dt.timedelta(days=21))
    plan_sync(course=course, today=TODAY)
    meeting = set_meeting_state(schedule(navigator, chair=specialist), MeetingState.HELD)
    case = list_case(navigator, meeting, course.patient)
    due = TODAY + dt.timedelta(days=14)
    with django_capture_on_commit_callbacks(execute=True):
        mdt.case_sign(actor=specialist, case=case, recommendation="prrt",
                      rationale="Go ahead with cycle 1.", attendees=[chair_member(meeting)],
                      actions=[mdt.ActionInput("Repeat the CT chest", OwnerParty.CENTRE, due),
                               mdt.ActionInput("Start LAR locally", OwnerParty.PRACTICE, due),
                               mdt.ActionInput("Call the patient", OwnerParty.USER, due,
                                               navigator)])
    tasks = list(CareTask.objects.filter(course=course, kind=TaskKind.MDT_ACTION)
                 .order_by("sequence"))
    assert [(t.sequence, t.cycle, t.owner_party, t.owner_user) for t in tasks] == [
        (1, 0, OwnerParty.CENTRE, None), (2, 0, OwnerParty.PRACTICE, None),
        (3, 0, OwnerParty.USER, navigator)]
    assert all((t.earliest, t.due, t.latest) == (TODAY, due, due) for t in tasks)
    assert tasks[0].note == "Repeat the CT chest (MDT of 05 Mar 2025)"
    assert [a.care_task for a in MdtAction.objects.order_by("id")] == tasks
    for task in tasks:
        event = CareTaskEvent.objects.get(task=task)
        assert (event.transition, event.actor, event.target) == ("create", specialist,
                                                                 TaskState.OPEN)
        assert AuditEvent.objects.filter(object_id=str(task.external_id),
                                         action=AuditEvent.Action.CREATE,
                                         actor=specialist).exists()
    # Re-planning never moves or cancels them; a later outcome numbers on.
    plan_sync(course=course, today=TODAY + dt.timedelta(days=30))
    assert CareTask.objects.filter(course=course, kind=TaskKind.MDT_ACTION,
                                   state=TaskState.OPEN, due=due).count() == 3
    # The oncologist was told, in NETcare and by email, with a link to the case.
    notification = Notification.objects.get(recipient=oncologist)
    assert notification.url == f"/network/mdt/cases/{case.external_id}/"
    assert [m.to for m in mail.outbox] == [[oncologist.email]]
    assert MdtCase.objects.get(pk=case.pk).outcome_sent_at is not None

    # A later meeting's outcome numbers on from the course's last MDT action.
    later = set_meeting_state(schedule(navigator, chair=specialist), MeetingState.HELD)
    mdt.case_sign(actor=specialist, case=list_case(navigator, later, course.patient),
                  recommendation="continue_ssa", rationale="Stable.",
                  attendees=[chair_member(later)],
                  actions=[mdt.ActionInput("CT in 3 months", OwnerParty.CENTRE, due)])
    assert list(CareTask.objects.filter(course=course, kind=TaskKind.MDT_ACTION)
                .values_list("sequence", flat=True).order_by("sequence")) == [1, 2, 3, 4]


def test_without_a_course_an_action_stays_an_mdt_action(meeting, case, specialist, oncologist,
                                                        oncologist2, navigator):
    set_meeting_state(meeting, MeetingState.HELD)
    mdt.case_sign(actor=specialist, case=case, recommendation="surgery",
                  rationale="Resectable primary.", attendees=[chair_member(meeting)],
                  actions=[mdt.ActionInput("Refer to the HPB surgeons", OwnerParty.PRACTICE,
                                           TODAY + dt.timedelta(days=7))])
    action = MdtAction.objects.get()
    assert action.care_task is None and not CareTask.objects.exists()
    with pytest.raises(TransitionForbidden):
        mdt.action_set_done(actor=oncologist2, action=action, done=True)
    done = mdt.action_set_done(actor=oncologist, action=action, done=True)
    assert (done.done_at, done.done_by) == (NOW, oncologist)
    with pytest.raises(TransitionConflict):
        mdt.action_set_done(actor=oncologist, action=action, done=True)
    undone = mdt.action_set_done(actor=navigator, action=action, done=False)
    assert (undone.done_at, undone.done_by) == (None, None)
    assert list(MdtEvent.objects.filter(case=case, transition__startswith="action")
                .values_list("transition", "actor")) == [("action_done", oncologist.pk),
                                                         ("action_undone", navigator.pk)]
    assert AuditEvent.objects.filter(object_id=str(action.external_id),
                                     action=AuditEvent.Action.UPDATE).count() == 2


def test_an_action_that_is_a_care_task_is_done_as_a_task(
        centre, oncologist, specialist, navigator):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=TODAY + dt.timedelta(days=21))
    meeting = set_meeting_state(schedule(navigator, chair=specialist), MeetingState.HELD)
    case = list_case(navigator, meeting, course.patient)
    mdt.case_sign(actor=specialist, case=case, recommendation="prrt", rationale="Go.",
                  attendees=[chair_member(meeting)],
                  actions=[mdt.ActionInput("Book the CT", OwnerParty.CENTRE, TODAY)])
    with pytest.raises(TransitionConflict):
        mdt.action_set_done(actor=navigator, action=MdtAction.objects.get(), done=True)


def test_task_create_by_person_is_for_unplanned_kinds_only(centre, oncologist, specialist,
                                                           navigator, oncologist2):
    from coordinators.services import task_create_by_person

    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=TODAY + dt.timedelta(days=21))
    with pytest.raises(TransitionInvalid) as refused:
        task_create_by_person(actor=navigator, course=course, kind=TaskKind.IMAGING,
                              due=TODAY, owner_party=OwnerParty.CENTRE)
    assert refused.value.field == "kind"
    with pytest.raises(TransitionForbidden):
        task_create_by_person(actor=oncologist2, course=course, kind=TaskKind.MDT_ACTION,
                              due=TODAY, owner_party=OwnerParty.CENTRE)
    with pytest.raises(TransitionInvalid) as refused:
        task_create_by_person(actor=navigator, course=course, kind=TaskKind.MDT_ACTION,
                              due=TODAY, owner_party=OwnerParty.USER)
    assert refused.value.field == "owner"
    assert not CareTask.objects.filter(kind=TaskKind.MDT_ACTION).exists()
