"""/api/v1/referrals/: drafts, lists and filters, details, the timeline and the discussion."""

from __future__ import annotations

import pytest

from netcare.models import AuditEvent
from referrals.models import Referral, ReferralNote, ReferralState
from tests.apiclient import (
    API,
    assert_uuid_references,
    client_for,
    make_referral,
    results,
)
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_oncologist_starts_a_draft_for_their_patient(patient, oncologist, centre):
    response = client_for(oncologist).post(
        f"{API}/referrals/", {"patient": str(patient.external_id), "question": "PRRT?",
                              "history": "Midgut NET, progressing on LAR.",
                              "urgency": "urgent"}, format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    assert_uuid_references(body)
    assert body["state"] == "draft"
    assert body["patient"] == str(patient.external_id)
    assert body["centre"] == str(centre.external_id)
    assert body["referring_oncologist"] == str(oncologist.external_id)
    assert body["available_actions"] == ["submit", "withdraw"]
    referral = Referral.objects.get(external_id=body["id"])
    assert (referral.urgency, referral.history) == ("urgent", "Midgut NET, progressing on LAR.")


def test_primary_oncologist_may_refer_too(centre, oncologist, oncologist2):
    shared = PatientFactory(centre=centre, referring_oncologist=oncologist2,
                            primary_oncologist=oncologist)
    response = client_for(oncologist).post(
        f"{API}/referrals/", {"patient": str(shared.external_id), "question": "PRRT?"},
        format="json")
    assert response.status_code == 201
    assert response.json()["referring_oncologist"] == str(oncologist.external_id)


def test_someone_elses_patient_cannot_be_referred(patient, oncologist2):
    response = client_for(oncologist2).post(
        f"{API}/referrals/", {"patient": str(patient.external_id), "question": "PRRT?"},
        format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["patient"]
    assert not Referral.objects.exists()


@pytest.mark.parametrize("persona", ["specialist", "navigator", "administrator"])
def test_only_referring_oncologists_start_referrals(request, patient, persona):
    response = client_for(request.getfixturevalue(persona)).post(
        f"{API}/referrals/", {"patient": str(patient.external_id), "question": "PRRT?"},
        format="json")
    assert response.status_code == 403
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [({"patient": None}, "patient"), ({"patient": "nope"}, "patient"),
     ({"question": ""}, "question"), ({"question": None}, "question"),
     ({"urgency": "yesterday"}, "urgency")],
)
def test_draft_errors_name_the_field(patient, oncologist, change, field):
    body = {"patient": str(patient.external_id), "question": "PRRT?", **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = client_for(oncologist).post(f"{API}/referrals/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Referral.objects.exists()


def test_list_is_scoped_and_filters_by_state_and_patient(patient, centre, oncologist,
                                                         oncologist2, specialist):
    other = PatientFactory(centre=centre, referring_oncologist=oncologist2)
    draft = make_referral(patient)
    submitted = make_referral(patient, state=ReferralState.SUBMITTED)
    theirs = make_referral(other, state=ReferralState.SUBMITTED)

    def ids(client, query=""):
        return {row["id"] for row in results(client.get(f"{API}/referrals/{query}"))}

    onc, spec = client_for(oncologist), client_for(specialist)
    assert ids(onc) == {str(draft.external_id), str(submitted.external_id)}
    assert ids(spec) == {str(r.external_id) for r in (draft, submitted, theirs)}
    assert ids(spec, "?state=submitted") == {str(submitted.external_id), str(theirs.external_id)}
    assert ids(spec, f"?patient={other.external_id}") == {str(theirs.external_id)}
    assert ids(onc, f"?patient={other.external_id}") == set()
    assert_uuid_references(results(spec.get(f"{API}/referrals/")))


@pytest.mark.parametrize(("query", "field"), [("?state=limbo", "state"), ("?patient=7", "patient")])
def test_bad_filters_name_the_parameter(patient, specialist, query, field):
    response = client_for(specialist).get(f"{API}/referrals/{query}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_retrieve_is_audited(patient, specialist):
    referral = make_referral(patient, state=ReferralState.SUBMITTED)
    response = client_for(specialist).get(f"{API}/referrals/{referral.external_id}/")
    assert response.status_code == 200
    assert_uuid_references(response.json())
    view = AuditEvent.objects.get(action="view")
    assert (view.actor, view.object_id, view.patient_id) == (
        specialist, str(referral.external_id), patient.external_id)


@pytest.mark.parametrize(
    ("state", "persona", "actions"),
    [
        ("draft", "oncologist", ["submit", "withdraw"]),
        ("draft", "specialist", []),
        ("submitted", "specialist", ["start_review"]),
        ("under_review", "specialist", ["accept", "decline", "request_info"]),
        ("under_review", "navigator", []),
        ("under_review", "oncologist", ["withdraw"]),
        ("accepted", "navigator", ["book_consult"]),
        ("referred_back", "oncologist", ["close"]),
        ("closed", "specialist", []),
    ],
)
def test_available_actions_are_the_users_own(request, patient, state, persona, actions):
    referral = make_referral(patient, state=state)
    client = client_for(request.getfixturevalue(persona))
    assert client.get(f"{API}/referrals/{referral.external_id}/").json()[
        "available_actions"] == actions


# --- the discussion -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["oncologist", "specialist", "navigator"])
def test_both_sides_write_in_the_discussion(request, patient, persona):
    author = request.getfixturevalue(persona)
    referral = make_referral(patient, state=ReferralState.SUBMITTED)
    url = f"{API}/referrals/{referral.external_id}/notes/"
    client = client_for(author)
    response = client.post(url, {"body": "  Is the Ki-67 from the liver biopsy?  "},
                           format="json")
    assert response.status_code == 201, response.data
    assert response.json()["body"] == "Is the Ki-67 from the liver biopsy?"
    assert response.json()["author"]["id"] == str(author.external_id)
    rows = results(client.get(url))
    assert [row["body"] for row in rows] == ["Is the Ki-67 from the liver biopsy?"]
    assert_uuid_references(rows)


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}])
def test_an_empty_note_is_refused(patient, specialist, body):
    referral = make_referral(patient)
    response = client_for(specialist).post(f"{API}/referrals/{referral.external_id}/notes/",
                                           body, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "body" and list(body["errors"]) == ["body"]
    assert not ReferralNote.objects.exists()


def test_timeline_is_audited_and_in_order(patient, specialist):
    referral = make_referral(patient, state=ReferralState.SUBMITTED)
    client = client_for(specialist)
    for action in ("start_review", "accept"):
        response = client.post(f"{API}/referrals/{referral.external_id}/{action}/", {},
                               format="json")
        assert response.status_code == 200, response.json()
    rows = results(client.get(f"{API}/referrals/{referral.external_id}/events/"))
    assert [(r["source"], r["target"]) for r in rows] == [("submitted", "under_review"),
                                                          ("under_review", "accepted")]
    assert AuditEvent.objects.filter(action="view", object_id=str(referral.external_id)).exists()
