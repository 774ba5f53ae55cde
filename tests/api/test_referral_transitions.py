"""The referral workflow through its POST actions, for every (state, action, role): the allowed
steps move the referral and record it; the others are refused with 409 (wrong state), 403 (wrong
role) or 400 (missing input) and change nothing; outsiders get a 404."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from netcare.models import AuditEvent
from referrals.models import Referral, ReferralEvent, ReferralNote, ReferralState
from referrals.services import STEPS
from tests.api import (
    API,
    client_for,
    make_referral,
)

pytestmark = pytest.mark.django_db

S = ReferralState
OPEN = {S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.INFO_REQUESTED, S.ACCEPTED, S.CONSULT_BOOKED}
CENTRE = {"specialist", "navigator"}


@dataclass(frozen=True)
class Rule:
    sources: set[str]
    roles: set[str]
    target: str


# The workflow as the clinic agreed it: from which states, by whom, to where.
RULES = {
    "submit": Rule({S.DRAFT}, {"oncologist"}, S.SUBMITTED),
    "answer_info_request": Rule({S.INFO_REQUESTED}, {"oncologist"}, S.SUBMITTED),
    "start_review": Rule({S.SUBMITTED}, {"specialist"}, S.UNDER_REVIEW),
    "accept": Rule({S.UNDER_REVIEW}, {"specialist"}, S.ACCEPTED),
    "decline": Rule({S.UNDER_REVIEW}, {"specialist"}, S.DECLINED),
    "request_info": Rule({S.UNDER_REVIEW}, {"specialist"}, S.INFO_REQUESTED),
    "book_consult": Rule({S.ACCEPTED}, CENTRE, S.CONSULT_BOOKED),
    "start_treatment": Rule({S.CONSULT_BOOKED}, CENTRE, S.IN_TREATMENT),
    "refer_back": Rule({S.IN_TREATMENT}, CENTRE, S.REFERRED_BACK),
    "close": Rule({S.REFERRED_BACK}, {"oncologist", *CENTRE}, S.CLOSED),
    "withdraw": Rule(OPEN, {"oncologist"}, S.WITHDRAWN),
}
REASON_REQUIRED = {"answer_info_request", "decline", "request_info", "withdraw"}
ROLES = ["oncologist", "specialist", "navigator"]
BODY = {"reason": "Clinical reason", "consult_at": "2025-04-01T10:00:00Z"}


def test_the_table_covers_every_step():
    assert set(RULES) == set(STEPS)
    assert {name for name, step in STEPS.items() if step.reason_required} == REASON_REQUIRED


def expected_status(state: str, action: str, role: str) -> int:
    rule = RULES[action]
    if state not in rule.sources:
        return 409
    if role not in rule.roles:
        return 403
    return 200


def action_url(referral: Referral, action: str) -> str:
    return f"{API}/referrals/{referral.external_id}/{action}/"


def trail(referral: Referral) -> tuple:
    """Everything a transition writes, to show that a refusal wrote none of it."""
    referral = Referral.objects.get(pk=referral.pk)
    return (referral.state, referral.reviewer_id, referral.decision_reason, referral.consult_at,
            referral.summary, referral.submitted_at, referral.updated_at,
            ReferralEvent.objects.count(), ReferralNote.objects.count(),
            AuditEvent.objects.filter(action="transition").count())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(RULES))
@pytest.mark.parametrize("state", list(S.values))
def test_transition_table(request, patient, state, action, role):
    actor = request.getfixturevalue(role)
    referral = make_referral(patient, state=state)
    before = trail(referral)

    response = client_for(actor).post(action_url(referral, action), BODY, format="json")

    expected = expected_status(state, action, role)
    assert response.status_code == expected, response.json()
    if expected != 200:
        assert trail(referral) == before
        body = response.json()
        assert set(body) == {"detail", "field"} and body["detail"]
        return
    body = response.json()
    assert body["id"] == str(referral.external_id)
    assert body["state"] == RULES[action].target
    referral.refresh_from_db()
    assert referral.state == RULES[action].target
    event = ReferralEvent.objects.get(referral=referral)
    assert (event.transition, event.source, event.target, event.actor, event.reason) == (
        action, state, RULES[action].target, actor, BODY["reason"])
    assert AuditEvent.objects.filter(action="transition", actor=actor,
                                     object_id=str(referral.external_id)).count() == 1


def first_allowed(action: str) -> tuple[str, str]:
    rule = RULES[action]
    return sorted(rule.sources)[0], sorted(rule.roles)[0]


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize("action", sorted(REASON_REQUIRED))
def test_missing_reason_is_400_and_changes_nothing(request, patient, action, reason):
    state, role = first_allowed(action)
    referral = make_referral(patient, state=state)
    before = trail(referral)
    body = {} if reason is None else {"reason": reason}
    response = client_for(request.getfixturevalue(role)).post(action_url(referral, action), body,
                                                              format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "reason"
    assert trail(referral) == before


@pytest.mark.parametrize(("consult_at", "error"), [(None, "detail"), ("next week", "consult_at")])
def test_booking_needs_a_consult_time(patient, navigator, consult_at, error):
    referral = make_referral(patient, state=S.ACCEPTED)
    before = trail(referral)
    body = {} if consult_at is None else {"consult_at": consult_at}
    response = client_for(navigator).post(action_url(referral, "book_consult"), body,
                                          format="json")
    assert response.status_code == 400
    assert error in response.json()
    if error == "detail":
        assert response.json()["field"] == "consult_at"
    assert trail(referral) == before


def test_booking_records_the_consult_time(patient, navigator):
    referral = make_referral(patient, state=S.ACCEPTED)
    response = client_for(navigator).post(action_url(referral, "book_consult"),
                                          {"consult_at": "2025-04-01T10:00:00+02:00"},
                                          format="json")
    assert response.status_code == 200
    assert response.json()["consult_at"] == "2025-04-01T08:00:00Z"


@pytest.mark.parametrize("persona", ["oncologist2", "outside_specialist", "outside_navigator",
                                     "administrator"])
@pytest.mark.parametrize("action", list(RULES))
def test_outsiders_get_404_for_every_action(request, patient, action, persona):
    state, _role = first_allowed(action)
    referral = make_referral(patient, state=state)
    before = trail(referral)
    response = client_for(request.getfixturevalue(persona)).post(action_url(referral, action),
                                                                 BODY, format="json")
    assert response.status_code == 404
    assert trail(referral) == before


def test_a_second_identical_step_is_a_conflict(patient, specialist, centre):
    from netcare.models import Role
    from tests.factories import UserFactory

    colleague = UserFactory(role=Role.SPECIALIST, centre=centre)
    referral = make_referral(patient, state=S.UNDER_REVIEW)
    assert client_for(specialist).post(action_url(referral, "accept"), {},
                                       format="json").status_code == 200
    second = client_for(colleague).post(action_url(referral, "accept"), {}, format="json")
    assert second.status_code == 409
    assert ReferralEvent.objects.filter(referral=referral).count() == 1


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

    timeline = onc.get(f"{API}/referrals/{referral.external_id}/events/").json()["results"]
    assert [row["transition"] for row in timeline] == [action for _c, action, _b in steps]
    assert timeline[0]["source"] == S.DRAFT and timeline[-1]["target"] == S.CLOSED
    assert timeline[2]["actor"] == {"id": str(specialist.external_id), "name": str(specialist),
                                    "role": "specialist"}
    notes = nav.get(f"{API}/referrals/{referral.external_id}/notes/").json()["results"]
    assert [note["body"] for note in notes] == ["Please send the latest SSTR PET.",
                                                "PET attached."]
    referral.refresh_from_db()
    assert referral.summary == "Four cycles given; follow-up plan attached."
    assert referral.decision_reason == "Eligible."
