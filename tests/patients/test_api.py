"""/api/v1/patients/: registration, details, the nested clinical records and eligibility."""

from __future__ import annotations

import pytest

from netcare.models import AuditEvent
from patients.models import AdverseEvent, ImagingStudy, Patient, PerformanceStatus, TumourProfile
from tests.apiclient import (
    API,
    VALID_ADVERSE_EVENT,
    VALID_IMAGING,
    VALID_PERFORMANCE,
    VALID_TUMOUR,
    assert_uuid_references,
    client_for,
    make_records,
    results,
)
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NEW_PATIENT = {"given_name": "Ada", "family_name": "Byrne", "date_of_birth": "1958-07-02",
               "sex": "F", "weight_kg": "64.5"}


def url(patient, tail: str = "") -> str:
    return f"{API}/patients/{patient.external_id}/{tail}"


# --- the patient ----------------------------------------------------------------------------


def test_list_shows_uuids_and_references(patient, specialist, oncologist, centre):
    rows = results(client_for(specialist).get(f"{API}/patients/"))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == str(patient.external_id)
    assert row["centre"] == str(centre.external_id)
    assert row["referring_oncologist"] == str(oncologist.external_id)
    assert row["primary_oncologist"] is None
    assert row["mrn"] == patient.mrn
    assert_uuid_references(rows)


def test_retrieve_writes_an_audit_view_row(patient, navigator):
    response = client_for(navigator).get(url(patient), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert_uuid_references(response.json())
    view = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (view.actor, view.patient_id, view.object_type, view.ip_address) == (
        navigator, patient.external_id, "patients.Patient", "10.1.2.3")


def test_listing_is_one_list_row_not_a_view_of_each_record(patient, navigator):
    response = client_for(navigator).get(f"{API}/patients/")
    assert response.status_code == 200
    assert [row["id"] for row in results(response)] == [str(patient.external_id)]
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.LIST and event.patient_id is None
    assert [p.patient_id for p in event.patients.all()] == [patient.external_id]


def test_referring_oncologist_registers_a_patient(oncologist, centre):
    response = client_for(oncologist).post(
        f"{API}/patients/", {**NEW_PATIENT, "centre": str(centre.external_id)}, format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    assert_uuid_references(body)
    created = Patient.objects.get(external_id=body["id"])
    assert (created.centre, created.referring_oncologist) == (centre, oncologist)
    assert created.mrn and body["mrn"] == created.mrn
    assert body["centre"] == str(centre.external_id)
    assert AuditEvent.objects.filter(action="create", patient_id=created.external_id).exists()


@pytest.mark.parametrize("persona", ["navigator", "specialist", "administrator"])
def test_only_a_referring_oncologist_registers_patients(request, persona, centre):
    client = client_for(request.getfixturevalue(persona))
    response = client.post(f"{API}/patients/", {**NEW_PATIENT, "centre": str(centre.external_id)},
                           format="json")
    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_registration_needs_a_specialist_centre(oncologist, practice):
    response = client_for(oncologist).post(
        f"{API}/patients/", {**NEW_PATIENT, "centre": str(practice.external_id)}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["centre"]
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"centre": "3f0c4c1e-0000-4000-8000-000000000000"}, "centre"),
        ({"centre": 1}, "centre"),
        ({"sex": "X"}, "sex"),
        ({"weight_kg": "5"}, "weight_kg"),
        ({"given_name": ""}, "given_name"),
    ],
)
def test_registration_errors_name_the_field(oncologist, centre, change, field):
    body = {**NEW_PATIENT, "centre": str(centre.external_id), **change}
    response = client_for(oncologist).post(f"{API}/patients/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Patient.objects.exists()


def test_update_changes_details_and_keeps_identity(patient, navigator, other_centre):
    response = client_for(navigator).patch(
        url(patient), {"weight_kg": "70.0", "mrn": "HACK", "centre": str(other_centre.external_id),
                       "id": "00000000-0000-4000-8000-000000000000"}, format="json")
    assert response.status_code == 200, response.data
    patient.refresh_from_db()
    assert patient.weight_kg == 70
    assert patient.mrn != "HACK" and patient.centre != other_centre
    assert response.json()["id"] == str(patient.external_id)
    change = AuditEvent.objects.get(action="update")
    assert change.changes == {"weight_kg": [None, "70.0"]}


def test_update_sets_the_primary_oncologist_by_uuid(patient, navigator, oncologist2):
    response = client_for(navigator).patch(
        url(patient), {"primary_oncologist": str(oncologist2.external_id)}, format="json")
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.primary_oncologist == oncologist2


def test_primary_oncologist_must_be_a_referring_oncologist(patient, navigator, specialist):
    response = client_for(navigator).patch(
        url(patient), {"primary_oncologist": str(specialist.external_id)}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["primary_oncologist"]


def test_invalid_update_names_the_field_and_saves_nothing(patient, navigator):
    response = client_for(navigator).patch(url(patient), {"weight_kg": "900"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["weight_kg"]
    patient.refresh_from_db()
    assert patient.weight_kg is None
    assert not AuditEvent.objects.filter(action="update").exists()


# --- tumour profile -------------------------------------------------------------------------


def test_tumour_profile_is_404_until_recorded(patient, specialist):
    assert client_for(specialist).get(url(patient, "tumour/")).status_code == 404


def test_tumour_grade_is_derived_never_typed(patient, specialist):
    client = client_for(specialist)
    response = client.put(url(patient, "tumour/"), {**VALID_TUMOUR, "grade": "G1"}, format="json")
    assert response.status_code == 201, response.data
    assert response.json()["grade"] == "G2"  # Ki-67 4 %
    assert response.json()["grade_explanation"]
    response = client.put(url(patient, "tumour/"), {**VALID_TUMOUR, "ki67_percent": "25"},
                          format="json")
    assert response.status_code == 200
    assert response.json()["grade"] == "G3"
    assert TumourProfile.objects.get(patient=patient).grade == "G3"
    assert client.get(url(patient, "tumour/")).json()["grade"] == "G3"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"differentiation": "moderate"}, "differentiation"), ({"ki67_percent": "120"},
                                                           "ki67_percent"),
     ({"mitoses_per_2mm2": "-1"}, "mitoses_per_2mm2"), ({"primary_site": None}, "primary_site")],
)
def test_tumour_errors_name_the_field(patient, specialist, change, field):
    response = client_for(specialist).put(url(patient, "tumour/"), {**VALID_TUMOUR, **change},
                                          format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not TumourProfile.objects.exists()


# --- imaging, adverse events, performance status --------------------------------------------


@pytest.mark.parametrize(
    ("tail", "body", "model"),
    [("imaging/", VALID_IMAGING, ImagingStudy),
     ("adverse-events/", VALID_ADVERSE_EVENT, AdverseEvent),
     ("performance-status/", VALID_PERFORMANCE, PerformanceStatus)],
)
def test_records_are_added_and_listed(patient, oncologist, tail, body, model):
    client = client_for(oncologist)
    response = client.post(url(patient, tail), body, format="json")
    assert response.status_code == 201, response.data
    created = response.json()
    assert_uuid_references(created)
    assert created[{"adverse-events/": "reported_by"}.get(tail, "entered_by")] == str(
        oncologist.external_id)
    assert model.objects.filter(patient=patient).count() == 1
    rows = results(client.get(url(patient, tail)))
    assert len(rows) == 1
    assert_uuid_references(rows)
    if "id" in created:
        assert client.get(url(patient, f"{tail}{created['id']}/")).json() == rows[0]


@pytest.mark.parametrize(
    ("tail", "body", "field", "model"),
    [
        ("imaging/", {**VALID_IMAGING, "uptake_score": 7}, "uptake_score", ImagingStudy),
        ("imaging/", {**VALID_IMAGING, "modality": "xray"}, "modality", ImagingStudy),
        ("adverse-events/", {**VALID_ADVERSE_EVENT, "ctcae_grade": 6}, "ctcae_grade",
         AdverseEvent),
        ("adverse-events/", {**VALID_ADVERSE_EVENT, "term": ""}, "term", AdverseEvent),
        ("performance-status/", {**VALID_PERFORMANCE, "value": 7}, "value",
         PerformanceStatus),
        ("performance-status/", {**VALID_PERFORMANCE, "assessed_on": "soon"}, "assessed_on",
         PerformanceStatus),
    ],
)
def test_record_errors_name_the_field_and_save_nothing(patient, navigator, tail, body, field,
                                                       model):
    response = client_for(navigator).post(url(patient, tail), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not model.objects.exists()
    assert not AuditEvent.objects.filter(action="create").exists()


def test_nested_reads_are_audited_as_views_of_the_patient(patient, specialist):
    make_records(patient, specialist)
    client = client_for(specialist)
    for tail in ("labs/", "imaging/", "adverse-events/", "performance-status/", "eligibility/"):
        assert client.get(url(patient, tail)).status_code == 200
    views = AuditEvent.objects.filter(action="view", actor=specialist,
                                      patient_id=patient.external_id)
    assert views.count() == 5


def test_nested_lists_show_only_this_patients_records(patient, centre, oncologist, specialist):
    other = PatientFactory(centre=centre, referring_oncologist=oncologist)
    make_records(other, specialist)
    client = client_for(specialist)
    for tail in ("labs/", "imaging/", "adverse-events/", "performance-status/"):
        assert results(client.get(url(patient, tail))) == []


# --- eligibility ----------------------------------------------------------------------------


def test_eligibility_lists_the_rules_findings_for_today(patient, specialist, time_machine):
    time_machine.move_to("2025-03-20 10:00Z")
    response = client_for(specialist).get(url(patient, "eligibility/"))
    assert response.status_code == 200
    body = response.json()
    assert body["patient"] == str(patient.external_id)
    assert body["date"] == "2025-03-20"
    assert body["findings"], "an empty record must raise flags"
    for finding in body["findings"]:
        assert set(finding) == {"code", "severity", "reason", "values", "thresholds"}
        assert finding["severity"] in {"block", "review", "warning"}


def test_eligibility_follows_the_record(patient, specialist, time_machine):
    time_machine.move_to("2025-03-20 10:00Z")
    client = client_for(specialist)

    def findings() -> set[str]:
        response = client.get(url(patient, "eligibility/"))
        assert response.status_code == 200
        return {f["code"] for f in response.json()["findings"]}

    before = findings()
    assert client.put(url(patient, "tumour/"), VALID_TUMOUR, format="json").status_code == 201
    assert client.post(url(patient, "imaging/"), VALID_IMAGING, format="json").status_code == 201
    assert findings() != before
