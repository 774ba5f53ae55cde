"""Every (state, transition, role) of the referral workflow, through the service funnel."""

import datetime as dt

import pytest

from netcare.models import AuditEvent
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from referrals.models import Referral, ReferralEvent, ReferralState
from referrals.services import STEPS, referral_transition
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

S = ReferralState
TRANSITIONS = {
    "submit": ([S.DRAFT], S.SUBMITTED),
    "answer_info_request": ([S.INFO_REQUESTED], S.SUBMITTED),
    "start_review": ([S.SUBMITTED], S.UNDER_REVIEW),
    "accept": ([S.UNDER_REVIEW], S.ACCEPTED),
    "decline": ([S.UNDER_REVIEW], S.DECLINED),
    "request_info": ([S.UNDER_REVIEW], S.INFO_REQUESTED),
    "book_consult": ([S.ACCEPTED], S.CONSULT_BOOKED),
    "start_treatment": ([S.CONSULT_BOOKED], S.IN_TREATMENT),
    "refer_back": ([S.IN_TREATMENT], S.REFERRED_BACK),
    "close": ([S.REFERRED_BACK], S.CLOSED),
    "withdraw": ([S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.INFO_REQUESTED, S.ACCEPTED,
                  S.CONSULT_BOOKED], S.WITHDRAWN),
}
ALLOWED_ROLES = {
    "submit": {"oncologist"},
    "answer_info_request": {"oncologist"},
    "withdraw": {"oncologist"},
    "start_review": {"specialist"},
    "accept": {"specialist"},
    "decline": {"specialist"},
    "request_info": {"specialist"},
    "book_consult": {"specialist", "navigator"},
    "start_treatment": {"specialist", "navigator"},
    "refer_back": {"specialist", "navigator"},
    "close": {"oncologist", "specialist", "navigator"},
}
PERSONAS = ["oncologist", "oncologist2", "specialist", "navigator", "outside_specialist",
            "administrator"]
CASES = [(state, name, persona) for state in S.values for name in STEPS for persona in PERSONAS]


def test_the_tables_cover_every_step():
    assert set(TRANSITIONS) == set(STEPS) == set(ALLOWED_ROLES)


@pytest.mark.parametrize(("state", "name", "persona"), CASES)
def test_transition_table(request, patient, state, name, persona):
    actor = request.getfixturevalue(persona)
    referral = ReferralFactory(patient=patient, state=state)
    sources, target = TRANSITIONS[name]
    kwargs = {"reason": "Clinical reason.",
              "consult_at": dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)}
    if state not in sources:
        expected = TransitionConflict
    elif persona not in ALLOWED_ROLES[name]:
        expected = TransitionForbidden
    else:
        expected = None
    if expected is None:
        result = referral_transition(referral=referral, name=name, actor=actor, **kwargs)
        assert result.state == target
        assert Referral.objects.get(pk=referral.pk).state == target
        event = ReferralEvent.objects.get(referral=referral)
        assert (event.source, event.target, event.actor, event.transition) == (
            state, target, actor, name)
        assert AuditEvent.objects.filter(action="transition",
                                         object_id=str(referral.external_id)).count() == 1
    else:
        with pytest.raises(expected):
            referral_transition(referral=referral, name=name, actor=actor, **kwargs)
        assert Referral.objects.get(pk=referral.pk).state == state
        assert not ReferralEvent.objects.filter(referral=referral).exists()
        assert not AuditEvent.objects.filter(action="transition").exists()


@pytest.mark.parametrize("name", ["decline", "request_info", "withdraw", "answer_info_request"])
def test_reason_is_required(request, patient, name):
    sources, _ = TRANSITIONS[name]
    actor = request.getfixturevalue(next(iter(sorted(ALLOWED_ROLES[name]))))
    referral = ReferralFactory(patient=patient, state=sources[0])
    with pytest.raises(TransitionInvalid) as exc:
        referral_transition(referral=referral, name=name, actor=actor, reason="   ")
    assert exc.value.field == "reason"
    assert Referral.objects.get(pk=referral.pk).state == sources[0]


def test_booking_needs_a_consult_time(patient, specialist):
    referral = ReferralFactory(patient=patient, state=S.ACCEPTED)
    with pytest.raises(TransitionInvalid) as exc:
        referral_transition(referral=referral, name="book_consult", actor=specialist)
    assert exc.value.field == "consult_at"


def test_unknown_action_is_invalid(patient, oncologist):
    referral = ReferralFactory(patient=patient)
    with pytest.raises(TransitionInvalid):
        referral_transition(referral=referral, name="approve_everything", actor=oncologist)


def test_state_cannot_be_assigned_directly(patient):
    referral = ReferralFactory(patient=patient)
    with pytest.raises(AttributeError):
        referral.state = S.ACCEPTED


def test_the_other_side_is_notified_on_commit(patient, oncologist, specialist, navigator,
                                              django_capture_on_commit_callbacks):
    from netcare.models import Notification

    referral = ReferralFactory(patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        referral_transition(referral=referral, name="submit", actor=oncologist)
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {
        "specialist", "navigator"}
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        referral_transition(referral=referral, name="start_review", actor=specialist)
    note = Notification.objects.get()
    assert note.recipient == oncologist
    assert str(referral.external_id) in note.url
    assert patient.family_name not in note.subject + note.body


def test_notification_email_is_sent_once(patient, oncologist, mailoutbox,
                                         django_capture_on_commit_callbacks):
    from netcare.models import Notification
    from netcare.notifications import notification_email_send, notify

    notification = notify(recipients=[oncologist], subject="Referral abc accepted",
                          body="Referral abc is now accepted.", url="/referrals/x/")[0]
    assert notification_email_send(notification_id=notification.pk) is True
    assert notification_email_send(notification_id=notification.pk) is False
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [oncologist.email]
    assert message.subject == "[NETcare] Referral abc accepted"
    assert message.alternatives[0][1] == "text/html"
    assert Notification.objects.get().emailed_at is not None
