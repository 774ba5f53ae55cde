"""The referral workflow through its POST actions. Which step is allowed from which state and for
whom is tested in full at the service level (tests/referrals/test_transitions.py); here each
action route is taken once, and each HTTP outcome of the funnel is checked once: 200 (and 201 for
a new referral), 400 naming the field, 403 (wrong role), 404 (outside scope), 409 (wrong state).
A refusal changes nothing."""

from __future__ import annotations

import pytest

from netcare.models import AuditEvent
from referrals.models import Referral, ReferralEvent, ReferralNote, ReferralState
from referrals.services import STEPS
from tests.apiclient import (
    API,
    client_for,
    make_referral,
)
from tests.referrals.test_transitions import ALLOWED_ROLES, TRANSITIONS

pytestmark = pytest.mark.django_db

S = ReferralState
BODY = {"reason": "Clinical reason", "consult_at": "2025-04-01T10:00:00Z"}


def action_url(referral: Referral, action: str) -> str:
    return f"{API}/referrals/{referral.external_id}/{action}/"


def trail(referral: Referral) -> tuple:
    """Everything a transition writes, to show that a refusal wrote none of it."""
    referral = Referral.objects.get(pk=referral.pk)
    return (referral.state, referral.reviewer_id, referral.decision_reason, referral.consult_at,
            referral.summary, referral.submitted_at, referral.updated_at,
            ReferralEvent.objects.count(), ReferralNote.objects.count(),
            AuditEvent.objects.filter(action="transition").count())


def assert_refused(response, status: int, referral: Referral, before: tuple) -> dict:
    assert response.status_code == status, response.json()
    body = response.json()
    shape = {"detail", "field", "errors"} if status == 400 else {"detail", "field"}
    assert set(body) == shape and body["detail"]
    assert trail(referral) == before
    return body


def first_allowed(action: str) -> tuple[str, str]:
    """One (state, persona) from which the service-level table allows `action`."""
    sources, _target = TRANSITIONS[action]
    return sorted(sources)[0], sorted(ALLOWED_ROLES[action])[0]


def test_every_step_has_an_action_route():
    assert set(TRANSITIONS) == set(STEPS)
    assert {name for name, step in STEPS.items() if step.reason_required} == {
        "answer_info_request", "decline", "request_info", "withdraw"}


@pytest.mark.parametrize("action", sorted(STEPS))
def test_each_action_moves_the_referral_and_records_it(request, patient, action):
    state, persona = first_allowed(action)
    actor = request.getfixturevalue(persona)
    target = TRANSITIONS[action][1]
    referral = make_referral(patient, state=state)

    response = client_for(actor).post(action_url(referral, action), BODY, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == str(referral.external_id)
    assert body["state"] == target
    referral.refresh_from_db()
    assert referral.state == target
    event = ReferralEvent.objects.get(referral=referral)
    assert (event.transition, event.source, event.target, event.actor, event.reason) == (
        action, state, target, actor, BODY["reason"])
    assert AuditEvent.objects.filter(action="transition", actor=actor,
                                     object_id=str(referral.external_id)).count() == 1


def test_wrong_role_is_403(patient, oncologist):
    referral = make_referral(patient, state=S.UNDER_REVIEW)
    before = trail(referral)
    response = client_for(oncologist).post(action_url(referral, "accept"), BODY, format="json")
    assert_refused(response, 403, referral, before)


def test_a_second_identical_step_is_a_409(patient, specialist, centre):
    from netcare.models import Role
    from tests.factories import UserFactory

    colleague = UserFactory(role=Role.SPECIALIST, centre=centre)
    referral = make_referral(patient, state=S.UNDER_REVIEW)
    first = client_for(specialist).post(action_url(referral, "accept"), {}, format="json")
    assert first.status_code == 200, first.json()
    before = trail(referral)
    second = client_for(colleague).post(action_url(referral, "accept"), {}, format="json")
    assert_refused(second, 409, referral, before)
    assert ReferralEvent.objects.filter(referral=referral).count() == 1


def test_missing_reason_is_400_naming_the_field(patient, specialist):
    referral = make_referral(patient, state=S.UNDER_REVIEW)
    before = trail(referral)
    response = client_for(specialist).post(action_url(referral, "decline"), {"reason": "   "},
                                           format="json")
    assert assert_refused(response, 400, referral, before)["field"] == "reason"


def test_an_unreadable_consult_time_is_400_naming_the_field(patient, navigator):
    """Parsing the input is the API's own: its error names the field like a serializer's."""
    referral = make_referral(patient, state=S.ACCEPTED)
    before = trail(referral)
    response = client_for(navigator).post(action_url(referral, "book_consult"),
                                          {"consult_at": "next week"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "consult_at"
    assert trail(referral) == before


def test_booking_records_the_consult_time(patient, navigator):
    referral = make_referral(patient, state=S.ACCEPTED)
    response = client_for(navigator).post(action_url(referral, "book_consult"),
                                          {"consult_at": "2025-04-01T10:00:00+02:00"},
                                          format="json")
    assert response.status_code == 200
    assert response.json()["consult_at"] == "2025-04-01T08:00:00Z"


def test_outside_scope_is_404(patient, oncologist2):
    referral = make_referral(patient, state=S.DRAFT)
    before = trail(referral)
    response = client_for(oncologist2).post(action_url(referral, "submit"), BODY, format="json")
    assert response.status_code == 404
    assert trail(referral) == before


def test_the_whole_journey_through_the_api(patient, oncologist, specialist, navigator):
    onc, spec, nav = client_for(oncologist), client_for(specialist), client_for(navigator)
    created = onc.post(f"{API}/referrals/", {"patient": str(patient.external_id),
                                             "question": "Is PRRT indicated?"}, format="json")
    assert created.status_code == 201
    referral = Referral.objects.get(external_id=created.json()["id"])
    steps = [
        (onc, "submit", {}),
        (spec, "start_review", {}),
        (spec, "request_info", {"reason": "Please send the latest SSTR PET."}),
        (onc, "answer_info_request", {"reason": "PET attached."}),
        (spec, "start_review", {}),
        (spec, "accept", {"reason": "Eligible."}),
        (nav, "book_consult", {"consult_at": "2025-04-01T10:00:00Z"}),
        (nav, "start_treatment", {}),
        (spec, "refer_back", {"reason": "Four cycles given; follow-up plan attached."}),
        (onc, "close", {}),
    ]
    for client, action, body in steps:
        response = client.post(action_url(referral, action), body, format="json")
        assert response.status_code == 200, (action, response.json())
    assert response.json()["state"] == S.CLOSED
    assert response.json()["available_actions"] == []

    events = onc.get(f"{API}/referrals/{referral.external_id}/events/")
    assert events.status_code == 200
    timeline = events.json()["results"]
    assert [row["transition"] for row in timeline] == [action for _c, action, _b in steps]
    assert timeline[0]["source"] == S.DRAFT and timeline[-1]["target"] == S.CLOSED
    assert timeline[2]["actor"] == {"id": str(specialist.external_id), "name": str(specialist),
                                    "role": "specialist"}
    notes = nav.get(f"{API}/referrals/{referral.external_id}/notes/")
    assert notes.status_code == 200
    assert [note["body"] for note in notes.json()["results"]] == [
        "Please send the latest SSTR PET.", "PET attached."]
    referral.refresh_from_db()
    assert referral.summary == "Four cycles given; follow-up plan attached."
    assert referral.decision_reason == "Eligible."
