"""The FHIR endpoints themselves: the CapabilityStatement, search parameters checked (a bad one
is a 400 naming it), _lastUpdated, paging links, and every client error an OperationOutcome."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from rest_framework.test import APIClient

from patients.models import LabResult
from tests.factories import PatientFactory
from tests.interop.fhir_world import FHIR, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def labs(patient, navigator):
    collected = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
    return [LabResult.objects.create(patient=patient, analyte="platelets", value=200 + i,
                                     unit="10^9/L", collected_at=collected, entered_by=navigator)
            for i in range(5)]


def test_metadata_is_a_valid_capability_statement():
    response = APIClient().get(f"{FHIR}/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate_json(response.content)
    types = {resource.type for resource in statement.rest[0].resource}
    assert types >= {"Patient", "Condition", "Observation", "ServiceRequest", "CarePlan",
                     "Task", "Appointment", "MedicationAdministration", "DocumentReference"}


def test_paging_links_walk_the_whole_search(labs, navigator, patient):
    client = client_for(navigator)
    seen, url = [], f"{FHIR}/Observation?patient=Patient/{patient.external_id}&_count=2"
    while url:
        page = client.get(url).json()
        assert page["total"] == 5
        seen += [entry["resource"]["id"] for entry in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert sorted(seen) == sorted(str(lab.external_id) for lab in labs)


def test_last_updated_and_code_narrow_the_search(labs, navigator, patient):
    client = client_for(navigator)
    today = labs[0].entered_at.date()
    assert client.get(f"{FHIR}/Observation", {"_lastUpdated": f"ge{today}"}).json()["total"] == 5
    assert client.get(f"{FHIR}/Observation",
                      {"_lastUpdated": f"lt{today}"}).json()["total"] == 0
    assert client.get(f"{FHIR}/Observation", {"code": "http://loinc.org|777-3"}
                      ).json()["total"] == 5
    assert client.get(f"{FHIR}/Observation", {"code": "718-7"}).json()["total"] == 0


@pytest.mark.parametrize(("query", "parameter"), [
    ({"colour": "red"}, "colour"),
    ({"_count": "lots"}, "_count"),
    ({"_count": "100000"}, "_count"),
    ({"_lastUpdated": "yesterday"}, "_lastUpdated"),
    ({"_lastUpdated": "sa2025-01-01"}, "_lastUpdated"),
    ({"_lastUpdated": "2025-01-01T10:00:00"}, "_lastUpdated"),
    ({"patient": "Patient/42"}, "patient"),
    ({"_format": "xml"}, "_format"),
    ({"code": "http://snomed.info/sct|123"}, "code"),
])
def test_a_bad_search_parameter_is_a_400_naming_it(navigator, query, parameter):
    response = client_for(navigator).get(f"{FHIR}/Observation", query)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [parameter]


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", f"{FHIR}/Medication", 404),
    ("get", f"{FHIR}/Patient/not-a-uuid", 404),
    ("get", f"{FHIR}/Patient/", 404),
    ("get", f"{FHIR}/no/such/thing", 404),
    ("delete", f"{FHIR}/Patient", 405),
    ("post", f"{FHIR}/Patient", 405),
])
def test_client_errors_are_operation_outcomes(navigator, method, url, status):
    response = getattr(client_for(navigator), method)(url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_anonymous_and_xml_clients_get_outcomes(patient, navigator):
    anonymous = APIClient().get(f"{FHIR}/Patient/{patient.external_id}")
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["resourceType"] == "OperationOutcome"
    xml = client_for(navigator).get(f"{FHIR}/Patient", HTTP_ACCEPT="application/fhir+xml")
    assert xml.status_code == 406
    assert xml.json()["issue"][0]["code"] == "not-supported"


def test_search_is_scoped_and_audits_each_patient_shown(patient, navigator, centre):
    from netcare.models import AuditEvent

    other = PatientFactory(centre=centre)
    PatientFactory()  # another centre's
    found = client_for(navigator).get(f"{FHIR}/Patient").json()
    assert {e["resource"]["id"] for e in found["entry"]} == {str(patient.external_id),
                                                            str(other.external_id)}
    viewed = set(AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, actor=navigator)
                 .values_list("patient_id", flat=True))
    assert viewed == {patient.external_id, other.external_id}
