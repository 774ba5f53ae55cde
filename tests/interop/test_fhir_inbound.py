"""FHIR in: POST Observation and transaction Bundles go through the lab intake (stored once on a
retry, the unmatchable to the inbox), errors are OperationOutcomes naming the element, and a
system sees and writes only its own centre's patients. The round trip: Observation in,
$everything out."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle

from interop.models import UnmatchedResult
from patients.models import LabResult
from patients.services import tumour_profile_save
from tests.factories import PatientFactory
from tests.interop.fhir_world import FHIR, client_for, system_client

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"


def platelets(patient, *, value=180, identifier="lab-1|OBX-1", **overrides) -> dict:
    system, ident = identifier.split("|")
    return {
        "resourceType": "Observation", "status": "final",
        "identifier": [{"system": f"urn:lab:{system}", "value": ident}],
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
        "subject": {"reference": f"Patient/{patient.external_id}"},
        "effectiveDateTime": "2025-03-01T08:30:00+00:00",
        "valueQuantity": {"value": value, "unit": "10*9/L",
                          "system": "http://unitsofmeasure.org", "code": "10*9/L"},
        "referenceRange": [{"low": {"value": 150}, "high": {"value": 400}}],
        **overrides,
    }


def post(client, url, body):
    return client.post(url, body, format="json", HTTP_ACCEPT=FHIR_JSON)


@pytest.fixture
def lab_system(centre):
    return system_client(centre, "labs.write", "fhir.read")


def test_round_trip_observation_in_everything_out(patient, lab_system, navigator):
    tumour_profile_save(actor=navigator, patient=patient, data={
        "primary_site": "pancreas", "differentiation": "well", "ki67_percent": "2"})
    response = post(lab_system, f"{FHIR}/Observation", platelets(patient))
    assert response.status_code == 201, response.content
    created = response.json()
    assert response["Location"].endswith(f"/fhir/R4/Observation/{created['id']}")
    lab = LabResult.objects.get(patient=patient)
    assert (lab.analyte, lab.value, lab.unit, lab.lln, lab.uln) == (
        "platelets", 180, "10^9/L", 150, 400)

    # A FHIR retry of the same result is stored once and answers with the stored one.
    again = post(lab_system, f"{FHIR}/Observation", platelets(patient))
    assert again.status_code == 200 and again.json()["id"] == created["id"]
    assert LabResult.objects.filter(patient=patient).count() == 1

    everything = lab_system.get(f"{FHIR}/Patient/{patient.external_id}/$everything")
    bundle = Bundle.model_validate_json(everything.content)
    observations = [e.resource for e in bundle.entry
                    if e.resource.get_resource_type() == "Observation"
                    and e.resource.id == created["id"]]
    assert len(observations) == 1
    quantity = observations[0].valueQuantity
    assert (quantity.value, quantity.code) == (180, "10*9/L")
    assert observations[0].code.coding[0].code == "777-3"


def test_transaction_bundle_stores_once_and_sends_the_unreadable_to_the_inbox(patient,
                                                                           lab_system):
    unknown_unit = platelets(patient, identifier="lab-1|OBX-2")
    unknown_unit["valueQuantity"] = {"value": 5, "unit": "G/dL"}
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "identifier": {"system": "urn:lab:lab-1", "value": "MSG-1"},
              "entry": [{"resource": platelets(patient),
                         "request": {"method": "POST", "url": "Observation"}},
                        {"resource": unknown_unit,
                         "request": {"method": "POST", "url": "Observation"}}]}
    response = post(lab_system, f"{FHIR}/", bundle)
    assert response.status_code == 200, response.content
    answer = Bundle.model_validate_json(response.content)
    assert answer.type == "transaction-response"
    assert [e.response.status for e in answer.entry] == ["201 Created", "202 Accepted"]
    assert "inbox" in answer.entry[1].response.outcome.issue[0].diagnostics
    assert UnmatchedResult.objects.count() == 1

    retry = Bundle.model_validate_json(post(lab_system, f"{FHIR}/", bundle).content)
    assert retry.entry[0].response.status == "200 OK"
    assert LabResult.objects.filter(patient=patient).count() == 1
    assert UnmatchedResult.objects.count() == 1


@pytest.mark.parametrize(("change", "element"), [
    ({"status": None}, "Observation.status"),
    ({"subject": None}, "Observation.subject"),
    ({"valueQuantity": None}, "Observation.value[x]"),
    ({"valueQuantity": {"value": "lots"}}, "Observation.valueQuantity.value"),
    ({"subject": {"identifier": {"system": "urn:other", "value": "X1"}}},
     "Observation.subject.identifier.system"),
])
def test_a_bad_observation_is_an_outcome_naming_the_element(patient, lab_system, change,
                                                            element):
    body = {k: v for k, v in {**platelets(patient), **change}.items() if v is not None}
    response = post(lab_system, f"{FHIR}/Observation", body)
    assert response.status_code == 400, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert element in outcome["issue"][0]["expression"]
    assert not LabResult.objects.exists()


def test_a_bad_entry_fails_the_whole_transaction(patient, lab_system):
    broken = platelets(patient, identifier="lab-1|OBX-9")
    del broken["status"]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": platelets(patient), "request": {"method": "POST", "url": "Observation"}},
        {"resource": broken, "request": {"method": "POST", "url": "Observation"}}]}
    response = post(lab_system, f"{FHIR}/", bundle)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"][0].startswith("Bundle.entry[1]")
    assert not LabResult.objects.exists()


def test_a_system_sees_and_writes_only_its_centres_patients(patient, other_centre, centre):
    elsewhere = PatientFactory(centre=other_centre)
    mine = system_client(centre, "fhir.read", "labs.write")
    found = mine.get(f"{FHIR}/Patient").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [str(patient.external_id)]
    assert mine.get(f"{FHIR}/Patient/{elsewhere.external_id}").status_code == 404
    refused = post(mine, f"{FHIR}/Observation", platelets(elsewhere))
    assert refused.status_code == 400
    assert refused.json()["issue"][0]["expression"] == ["Observation.subject.reference"]
    # Without labs.write a system sends nothing; without fhir.read it reads nothing.
    reader = system_client(centre, "fhir.read")
    assert post(reader, f"{FHIR}/Observation", platelets(patient)).status_code == 403
    writer = system_client(centre, "labs.write")
    assert writer.get(f"{FHIR}/Patient").status_code == 403
    assert not LabResult.objects.exists()


def test_a_referring_oncologist_sends_no_labs_here(patient, oncologist):
    response = post(client_for(oncologist), f"{FHIR}/Observation", platelets(patient))
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_a_system_with_a_real_token_posts_fhir_json_and_reads_it_back(patient, centre):
    """Over the real sign-in path: a token from /o/token/ and the body as FHIR clients send it,
    `application/fhir+json` (the bearer check must not refuse a media type it cannot parse)."""
    import json

    from django.test import Client

    from tests.interop.hl7_builders import register, token

    registered = register(centre, scopes=("labs.write", "fhir.read"))
    client = Client()
    bearer = token(client, registered, scope="labs.write fhir.read")
    body = json.dumps(platelets(patient, identifier="lab-9|OBX-1"))
    response = client.post(f"{FHIR}/Observation", data=body, content_type=FHIR_JSON,
                           HTTP_ACCEPT=FHIR_JSON, HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    lab = LabResult.objects.get(patient=patient)
    read = client.get(f"{FHIR}/Observation", {"patient": str(patient.external_id)},
                      HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert read.status_code == 200
    assert [e["resource"]["id"] for e in read.json()["entry"]] == [str(lab.external_id)]
    broken = client.post(f"{FHIR}/Observation", data="{not json", content_type=FHIR_JSON,
                         HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert broken.status_code == 400
    assert broken.json()["resourceType"] == "OperationOutcome"
