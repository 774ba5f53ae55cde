"""The e-consult workflow through the funnel: every (state, step, persona) allowed or refused,
with its event and audit rows; asking; response times; the summary's rules at their bounds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from netcare.models import AuditEvent, Notification, Role
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from network import econsult as services
from network.models import EConsult, EConsultEvent, EConsultState, NetContact
from tests.factories import ReferralFactory, UserFactory
from tests.network.econsults import SUMMARY, make_econsult

pytestmark = pytest.mark.django_db

S = EConsultState
TRANSITIONS = {
    "answer": ([S.ASKED], S.ANSWERED),
    "close": ([S.ANSWERED], S.CLOSED),
    "refer": ([S.ANSWERED, S.CLOSED], S.CLOSED),
    "withdraw": ([S.ASKED], S.WITHDRAWN),
}
ALLOWED = {
    "answer": {"specialist", "contact_navigator"},
    "close": {"oncologist", "specialist", "navigator", "contact_navigator"},
    "refer": {"oncologist"},
    "withdraw": {"oncologist"},
}
PERSONAS = ["oncologist", "oncologist2", "specialist", "navigator", "contact_navigator",
            "outside_specialist", "outside_navigator", "administrator"]
CASES = [(state, name, persona) for state in S.values for name in services.STEPS
         for persona in PERSONAS]


@pytest.fixture
def contact_navigator(centre):
    """A navigator the centre names as its NET contact: may answer e-consults."""
    user = UserFactory(username="netcontact", role=Role.NAVIGATOR, centre=centre)
    NetContact.objects.create(centre=centre, user=user, kind=NetContact.Kind.NET_CONTACT)
    return user


def test_the_tables_cover_every_step():
    assert set(TRANSITIONS) == set(services.STEPS) == set(ALLOWED)


@pytest.mark.parametrize(("state", "name", "persona"), CASES)
def test_transition_table(request, centre, oncologist, patient, state, name, persona):
    actor = request.getfixturevalue(persona)
    econsult = make_econsult(centre=centre, asked_by=oncologist, state=state)
    sources, target = TRANSITIONS[name]
    referral = ReferralFactory(patient=patient) if name == "refer" else None
    kwargs = {"answer": "Yes, refer.", "reason": "Noted.", "referral": referral}
    if state not in sources:
        expected = TransitionConflict
    elif persona not in ALLOWED[name]:
        expected = TransitionForbidden
    else:
        expected = None
    if expected is None:
        result = services.econsult_transition(econsult=econsult, name=name, actor=actor,
                                              **kwargs)
        assert result.state == target
        stored = EConsult.objects.get(pk=econsult.pk)
        assert stored.state == target
        event = EConsultEvent.objects.get(econsult=econsult)
        assert (event.source, event.target, event.actor, event.transition) == (
            state, target, actor, name)
        audit_rows = AuditEvent.objects.filter(action="transition",
                                               object_id=str(econsult.external_id))
        assert [row.changes for row in audit_rows] == [{"state": [state, target]}]
        assert audit_rows.get().actor == actor
        if name == "refer":
            assert stored.referral == referral
            assert audit_rows.get().patient_id == referral.patient.external_id
    else:
        with pytest.raises(expected):
            services.econsult_transition(econsult=econsult, name=name, actor=actor, **kwargs)
        assert EConsult.objects.get(pk=econsult.pk).state == state
        assert not EConsultEvent.objects.filter(econsult=econsult).exists()
        assert not AuditEvent.objects.filter(action="transition").exists()


def test_an_answer_needs_text(centre, oncologist, specialist):
    econsult = make_econsult(centre=centre, asked_by=oncologist)
    with pytest.raises(TransitionInvalid) as refused:
        services.econsult_transition(econsult=econsult, name="answer", actor=specialist,
                                     answer="   ")
    assert refused.value.field == "answer"
    assert EConsult.objects.get(pk=econsult.pk).state == S.ASKED


def test_one_referral_per_econsult(centre, oncologist, patient):
    econsult = make_econsult(centre=centre, asked_by=oncologist, state=S.ANSWERED)
    first = ReferralFactory(patient=patient)
    services.econsult_transition(econsult=econsult, name="refer", actor=oncologist,
                                 referral=first)
    econsult.refresh_from_db()
    with pytest.raises(TransitionConflict):
        services.econsult_transition(econsult=econsult, name="refer", actor=oncologist,
                                     referral=ReferralFactory(patient=patient))
    with pytest.raises(TransitionConflict):
        services.check_may_refer(actor=oncologist, econsult=econsult)
    assert EConsult.objects.get(pk=econsult.pk).referral == first


# --- asking -----------------------------------------------------------------------------------


def test_asking_records_the_event_the_audit_and_tells_the_net_contact(
        centre, oncologist, specialist, navigator, django_capture_on_commit_callbacks):
    NetContact.objects.create(centre=centre, user=specialist, kind=NetContact.Kind.NET_CONTACT)
    with django_capture_on_commit_callbacks(execute=True):
        econsult = services.econsult_ask(actor=oncologist, centre=centre, data=dict(SUMMARY))
    assert econsult.state == S.ASKED and econsult.asked_by == oncologist
    event = EConsultEvent.objects.get(econsult=econsult)
    assert (event.transition, event.source, event.target, event.actor) == (
        "ask", "", S.ASKED, oncologist)
    created = AuditEvent.objects.get(action="create", object_id=str(econsult.external_id))
    assert created.actor == oncologist and created.changes["question"][1] == SUMMARY["question"]
    # The named NET contact hears of it; the rest of the team does not.
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == [
        "specialist"]


def test_without_a_named_contact_the_whole_team_hears(centre, oncologist, specialist,
                                                      navigator,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.econsult_ask(actor=oncologist, centre=centre, data=dict(SUMMARY))
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {
        "specialist", "navigator"}


@pytest.mark.parametrize("persona", ["specialist", "navigator", "administrator"])
def test_only_a_referring_oncologist_asks(request, centre, persona):
    with pytest.raises(TransitionForbidden):
        services.econsult_ask(actor=request.getfixturevalue(persona), centre=centre,
                              data=dict(SUMMARY))
    assert not EConsult.objects.exists()


def test_a_practice_is_not_asked(oncologist, practice):
    with pytest.raises(TransitionInvalid) as refused:
        services.econsult_ask(actor=oncologist, centre=practice, data=dict(SUMMARY))
    assert refused.value.field == "centre"


def test_the_answer_tells_the_asker(centre, oncologist, specialist,
                                    django_capture_on_commit_callbacks):
    econsult = make_econsult(centre=centre, asked_by=oncologist)
    with django_capture_on_commit_callbacks(execute=True):
        services.econsult_transition(econsult=econsult, name="answer", actor=specialist,
                                     answer="Yes: SSTR-positive and progressing. Refer.")
    [notice] = Notification.objects.all()
    assert notice.recipient == oncologist
    assert notice.url == f"/network/econsults/{econsult.external_id}/"
    assert "Yes" not in notice.subject + notice.body  # the answer itself stays in NETcare


# --- response time ----------------------------------------------------------------------------


@pytest.mark.parametrize(("elapsed", "hours"), [
    (dt.timedelta(0), "0.0"),
    (dt.timedelta(minutes=2, seconds=59), "0.0"),  # 0.0497 h
    (dt.timedelta(minutes=3), "0.1"),  # 0.05 h: half up
    (dt.timedelta(hours=1, minutes=2, seconds=59), "1.0"),
    (dt.timedelta(hours=1, minutes=3), "1.1"),
    (dt.timedelta(days=3, hours=1), "73.0"),
    (-dt.timedelta(minutes=5), "0.0"),  # clocks a little apart: never negative
])
def test_response_hours(elapsed, hours):
    asked = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assert services.response_hours(asked, asked + elapsed) == Decimal(hours)


def test_response_time_is_kept_with_the_answer(time_machine, centre, oncologist, specialist):
    time_machine.move_to(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False)
    econsult = services.econsult_ask(actor=oncologist, centre=centre, data=dict(SUMMARY))
    time_machine.move_to(dt.datetime(2026, 11, 21, 11, 30, tzinfo=dt.UTC), tick=False)
    services.econsult_transition(econsult=econsult, name="answer", actor=specialist,
                                 answer="Refer.")
    stored = EConsult.objects.get(pk=econsult.pk)
    assert stored.asked_at == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assert stored.answered_at == dt.datetime(2026, 11, 21, 11, 30, tzinfo=dt.UTC)
    assert stored.response_hours == Decimal("26.5")
    assert stored.answered_by == specialist


# --- the summary's rules -----------------------------------------------------------------------

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(("changes", "errors"), [
    ({}, {}),
    ({"sstr_imaging_on": TODAY}, {}),
    ({"sstr_imaging_on": TODAY + dt.timedelta(days=1)}, {"sstr_imaging_on"}),
    ({"sstr_imaging_on": dt.date(1900, 1, 1)}, {}),
    ({"sstr_imaging_on": dt.date(1899, 12, 31)}, {"sstr_imaging_on"}),
    ({"sstr_imaging_on": None}, {"sstr_imaging_on"}),
    ({"sstr_imaging": False}, {"sstr_modality", "sstr_imaging_on", "sstr_positive"}),
    ({"sstr_imaging": False, "sstr_modality": "", "sstr_imaging_on": None,
      "sstr_positive": None}, {}),
    ({"labs_on": TODAY}, {}),
    ({"labs_on": TODAY + dt.timedelta(days=1)}, {"labs_on"}),
    ({"labs": ""}, {"labs"}),
    ({"labs": "", "labs_on": None}, {}),
    ({"question": "  "}, {"question"}),
])
def test_summary_rules(changes, errors):
    assert set(services.summary_errors({**SUMMARY, **changes}, today=TODAY)) == set(errors)


@pytest.mark.parametrize(("grade", "differentiation"), [
    ("G1", "well"), ("G2", "well"), ("G3", "well"), ("NEC", "poor"), ("unknown", "")])
def test_grade_gives_the_differentiation(grade, differentiation):
    assert services.differentiation_of(grade) == differentiation
