"""Access through the REST API: every endpoint is a 404 for people outside the patient's scope,
and nothing they send is saved; the patient's team and referrer get in."""

from __future__ import annotations

import uuid

import pytest
from django.urls import get_resolver

from netcare.models import AuditEvent
from patients.models import AdverseEvent, ImagingStudy, LabResult, PerformanceStatus, TumourProfile
from referrals.models import Referral, ReferralEvent, ReferralNote
from referrals.services import STEPS
from tests.apiclient import (
    API,
    VALID_ADVERSE_EVENT,
    VALID_IMAGING,
    VALID_LAB,
    VALID_PERFORMANCE,
    VALID_TUMOUR,
    client_for,
    make_records,
    make_referral,
    results,
)
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

OUTSIDERS = ["oncologist2", "outside_specialist", "outside_navigator", "administrator"]
INSIDERS = ["oncologist", "specialist", "navigator"]


@pytest.fixture
def world(patient, navigator):
    referral = make_referral(patient, state="under_review")
    return {"patient": patient, "referral": referral, **make_records(patient, navigator)}


def endpoints(world) -> list[tuple[str, str, dict | None]]:
    """Every patient- or referral-specific endpoint, with a body that would be valid."""
    p = f"{API}/patients/{world['patient'].external_id}"
    r = f"{API}/referrals/{world['referral'].external_id}"
    lab, imaging = world["lab"].external_id, world["imaging"].external_id
    event = world["adverse_event"].external_id
    rows = [
        ("get", f"{p}/", None),
        ("put", f"{p}/", {"given_name": "Ann", "family_name": "Lee", "date_of_birth": "1960-01-01",
                          "sex": "F"}),
        ("patch", f"{p}/", {"phone": "0123"}),
        ("get", f"{p}/eligibility/", None),
        ("get", f"{p}/tumour/", None),
        ("put", f"{p}/tumour/", VALID_TUMOUR),
        ("get", f"{p}/imaging/", None),
        ("post", f"{p}/imaging/", VALID_IMAGING),
        ("get", f"{p}/imaging/{imaging}/", None),
        ("get", f"{p}/labs/", None),
        ("post", f"{p}/labs/", VALID_LAB),
        ("get", f"{p}/labs/{lab}/", None),
        ("post", f"{p}/labs/{lab}/mark-in-error/", {"reason": "wrong patient"}),
        ("get", f"{p}/adverse-events/", None),
        ("post", f"{p}/adverse-events/", VALID_ADVERSE_EVENT),
        ("get", f"{p}/adverse-events/{event}/", None),
        ("get", f"{p}/performance-status/", None),
        ("post", f"{p}/performance-status/", VALID_PERFORMANCE),
        ("get", f"{r}/", None),
        ("get", f"{r}/events/", None),
        ("get", f"{r}/notes/", None),
        ("post", f"{r}/notes/", {"body": "Any update?"}),
    ]
    rows += [("post", f"{r}/{name}/", {"reason": "because", "consult_at": "2025-04-01T10:00Z"})
             for name in STEPS]
    return rows


def snapshot():
    return {
        "labs": list(LabResult.objects.values_list("pk", "entered_in_error")),
        "imaging": ImagingStudy.objects.count(),
        "adverse_events": AdverseEvent.objects.count(),
        "performance": PerformanceStatus.objects.count(),
        "tumour": TumourProfile.objects.count(),
        "referrals": list(Referral.objects.values_list("pk", "state")),
        "events": ReferralEvent.objects.count(),
        "notes": ReferralNote.objects.count(),
        # Refused requests are audited (netcare.middleware); nothing else may be.
        "audit": AuditEvent.objects.exclude(action=AuditEvent.Action.REFUSED).count(),
    }


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_every_endpoint_is_404_outside_scope_and_changes_nothing(request, world, persona):
    client = client_for(request.getfixturevalue(persona))
    before = snapshot()
    for method, url, body in endpoints(world):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code, response.data)
        assert "field" not in response.json() or response.json()["field"] is None
    assert snapshot() == before
    refused = AuditEvent.objects.filter(action=AuditEvent.Action.REFUSED)
    assert refused.count() == len(endpoints(world))
    assert set(refused.values_list("changes__status", flat=True)) == {404}
    patient = world["patient"]
    assert patient.given_name == type(patient).objects.get(pk=patient.pk).given_name


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_lists_leave_out_what_is_outside_scope(request, world, persona):
    client = client_for(request.getfixturevalue(persona))
    patients = results(client.get(f"{API}/patients/"))
    referrals = results(client.get(f"{API}/referrals/"))
    assert str(world["patient"].external_id) not in {row["id"] for row in patients}
    assert str(world["referral"].external_id) not in {row["id"] for row in referrals}


@pytest.mark.parametrize("persona", INSIDERS)
def test_the_team_and_the_referrer_read_every_endpoint(request, world, persona):
    client = client_for(request.getfixturevalue(persona))
    world["patient"].tumour = TumourProfile.objects.create(
        patient=world["patient"], primary_site="pancreas", differentiation="well")
    for method, url, _body in endpoints(world):
        if method == "get":
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.data)
    listed = results(client.get(f"{API}/patients/"))
    assert [row["id"] for row in listed] == [str(world["patient"].external_id)]


def test_unknown_ids_are_404(world, specialist):
    client = client_for(specialist)
    unknown = uuid.uuid4()
    p = f"{API}/patients/{world['patient'].external_id}"
    for url in (f"{API}/patients/{unknown}/", f"{API}/patients/{unknown}/labs/",
                f"{API}/referrals/{unknown}/", f"{API}/referrals/{unknown}/events/",
                f"{p}/labs/{unknown}/", f"{p}/imaging/{unknown}/",
                f"{p}/adverse-events/{unknown}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{API}/referrals/{unknown}/accept/", {}, format="json").status_code == 404


def test_records_of_another_patient_are_404_under_this_one(world, specialist, centre, oncologist):
    other = PatientFactory(centre=centre, referring_oncologist=oncologist)
    client = client_for(specialist)
    lab = world["lab"].external_id
    assert client.get(f"{API}/patients/{other.external_id}/labs/{lab}/").status_code == 404
    assert results(client.get(f"{API}/patients/{other.external_id}/labs/")) == []


def test_integer_keys_are_not_urls(world, specialist):
    client = client_for(specialist)
    assert client.get(f"{API}/patients/{world['patient'].pk}/").status_code == 404
    assert client.get(f"{API}/referrals/{world['referral'].pk}/").status_code == 404


def test_every_api_route_takes_uuids_only():
    resolver = get_resolver()
    api = next(p for p in resolver.url_patterns if str(p.pattern) == "api/v1/")
    for pattern in api.url_patterns:
        converters = pattern.pattern.converters
        assert all(type(c).__name__ == "UUIDConverter" for c in converters.values()), pattern


@pytest.mark.parametrize("url", [f"{API}/patients/", f"{API}/referrals/"])
def test_anonymous_is_refused(world, url):
    assert client_for(None).get(url).status_code == 403


def test_session_login_works(world, client, oncologist):
    client.force_login(oncologist)
    response = client.get(f"{API}/patients/{world['patient'].external_id}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(world["patient"].external_id)
