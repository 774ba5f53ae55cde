"""FHIR R4 read side on a seeded course: every resource validates with fhir.resources (R4B),
reads agree with $everything and searches, the codes are the documented ones, reads are
audited, and nobody outside the patient's scope sees anything."""

from __future__ import annotations

from collections import Counter

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from netcare.models import AuditEvent
from patients.models import LabResult
from prrt.models import Administration, SSAInjection
from tests.interop.fhir_world import FHIR, client_for, seeded_course

pytestmark = pytest.mark.django_db

TYPES = {"Patient", "Condition", "Observation", "ServiceRequest", "CarePlan", "Task",
         "Appointment", "MedicationAdministration", "DocumentReference"}


@pytest.fixture
def course(centre, oncologist, specialist, navigator, time_machine):
    return seeded_course(centre=centre, oncologist=oncologist, specialist=specialist,
                         navigator=navigator, time_machine=time_machine)


def ext(resource: dict, name: str):
    return next(e for e in resource.get("extension", []) if e["url"].endswith(f"/{name}"))


def coding(concept: dict, system: str) -> str:
    return next(c["code"] for c in concept["coding"] if c["system"] == system)


def test_every_resource_of_a_seeded_course_validates_and_reads_back(course, navigator):
    client = client_for(navigator)
    patient = course.patient
    response = client.get(f"{FHIR}/Patient/{patient.external_id}/$everything")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(response.content)  # R4B models, strict
    assert bundle.type == "searchset" and bundle.total == len(bundle.entry)
    resources = [entry.resource for entry in bundle.entry]
    assert {r.get_resource_type() for r in resources} == TYPES
    counts = Counter(r.get_resource_type() for r in resources)
    assert counts["CarePlan"] == 1 and counts["Condition"] == 1 and counts["Patient"] == 1
    assert counts["DocumentReference"] == 5  # four sets of instructions and the letter
    labs = LabResult.objects.filter(patient=patient).count()
    assert counts["Observation"] == labs + 2  # Ki-67 and the grade
    assert counts["MedicationAdministration"] == 4 + 4 + SSAInjection.objects.count()

    by_id = {}
    for entry, raw in zip(bundle.entry, response.json()["entry"], strict=True):
        resource_type = entry.resource.get_resource_type()
        # Each resource on its own validates too, and a read gives the same resource.
        model = get_fhir_model_class(resource_type).model_validate(raw["resource"])
        assert entry.fullUrl.endswith(f"/fhir/R4/{resource_type}/{model.id}")
        read = client.get(f"{FHIR}/{resource_type}/{model.id}")
        assert read.status_code == 200, (resource_type, model.id, read.content)
        assert read.json() == raw["resource"]
        by_id[f"{resource_type}/{model.id}"] = raw["resource"]
        subject = (raw["resource"].get("subject") or raw["resource"].get("for")
                   or raw["resource"].get("participant", [{}])[0].get("actor"))
        if resource_type != "Patient":
            assert subject == {"reference": f"Patient/{patient.external_id}"}

    # A search by patient finds the same resources, type by type.
    for resource_type, count in counts.items():
        param = "_id" if resource_type == "Patient" else "patient"
        value = patient.external_id
        found = client.get(f"{FHIR}/{resource_type}", {param: value, "_count": 500}).json()
        assert found["total"] == count, resource_type
        assert {f"{resource_type}/{e['resource']['id']}" for e in found["entry"]} == {
            key for key in by_id if key.startswith(f"{resource_type}/")}

    # Every reference between the course's resources resolves inside the record.
    plan = next(r for k, r in by_id.items() if k.startswith("CarePlan/"))
    for activity in plan["activity"]:
        assert activity["reference"]["reference"] in by_id
        for outcome in activity.get("outcomeReference", []):
            assert outcome["reference"] in by_id
    assert ext(plan, "cycle-count")["valueInteger"] == 4
    assert ext(plan, "cycles-given")["valueInteger"] == 4
    assert plan["supportingInfo"][0]["reference"].startswith("ServiceRequest/")
    assert plan["addresses"] == [{"reference": f"Condition/net-{patient.external_id}"}]
    assert any(a["reference"]["reference"].startswith("Appointment/") for a in plan["activity"])
    assert {ext(a, "cycle-number")["valueInteger"] for a in plan["activity"]
            if a.get("extension")} == {1, 2, 3, 4}


def test_the_codes_are_the_documented_ones(course, navigator):
    patient = course.patient
    record = client_for(navigator).get(
        f"{FHIR}/Patient/{patient.external_id}/$everything").json()
    resources = [e["resource"] for e in record["entry"]]

    def of(resource_type):
        return [r for r in resources if r["resourceType"] == resource_type]

    fhir_patient = of("Patient")[0]
    assert fhir_patient["identifier"][0]["system"] == f"urn:uuid:{course.centre.external_id}"
    assert fhir_patient["identifier"][0]["value"] == patient.mrn
    assert fhir_patient["gender"] == "female"

    condition = of("Condition")[0]  # small bowel, well differentiated, Ki-67 4 %: NET G2
    icdo = "http://terminology.hl7.org/CodeSystem/icd-o-3"
    assert coding(condition["code"], icdo) == "8249/3"
    assert coding(condition["bodySite"][0], icdo) == "C17.9"

    observations = {coding(o["code"], "http://loinc.org"): o for o in of("Observation")
                    if o["status"] == "final"}
    ki67 = observations["29593-1"]
    assert ki67["valueQuantity"] == {"value": 4, "unit": "%",
                                     "system": "http://unitsofmeasure.org", "code": "%"}
    assert observations["33732-9"]["valueCodeableConcept"]["coding"][0]["code"] == "G2"
    platelets = observations["777-3"]["valueQuantity"]
    assert platelets["code"] == "10*9/L" and platelets["system"] == "http://unitsofmeasure.org"
    assert observations["14682-9"]["valueQuantity"]["code"] == "umol/L"  # creatinine µmol/L
    assert observations["2160-0"]["valueQuantity"]["code"] == "mg/dL"
    bilirubin = observations["1975-2"]
    assert bilirubin["referenceRange"][0]["high"]["value"] == 1.2
    in_error = [o for o in of("Observation") if o["status"] == "entered-in-error"]
    assert len(in_error) == 1 and "Another patient's sample" in in_error[0]["note"][0]["text"]

    doses = [m for m in of("MedicationAdministration")
             if coding(m["medicationCodeableConcept"], "http://www.whocc.no/atc") == "V10XX04"]
    assert sorted(d["dosage"]["dose"]["value"] for d in doses) == [3.7, 7.4, 7.4, 7.4]
    assert {d["dosage"]["dose"]["code"] for d in doses} == {"GBq"}
    assert all(d["reasonReference"][0]["reference"].startswith("Condition/") for d in doses)
    maintenance = [m for m in of("MedicationAdministration")
                   if m["id"] == str(SSAInjection.objects.get().external_id)]
    assert maintenance[0]["dosage"]["dose"] == {"value": 30, "unit": "mg",
                                                "system": "http://unitsofmeasure.org",
                                                "code": "mg"}

    tasks = of("Task")
    assert {t["status"] for t in tasks} >= {"completed", "requested"}
    task = tasks[0]
    assert set(task["executionPeriod"]) == {"start", "end"} and "owner" in task
    appointment = of("Appointment")[0]
    assert appointment["status"] == "booked"
    assert appointment["participant"][1]["actor"]["display"] == "CT suite 2"

    documents = of("DocumentReference")
    assert {d["content"][0]["attachment"]["contentType"] for d in documents} == {
        "application/pdf"}
    assert sum(d["id"].startswith("letter-") for d in documents) == 1


def test_reads_are_audited_and_pdfs_are_exports(course, navigator):
    client = client_for(navigator)
    patient = course.patient
    before = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW,
                                       patient_id=patient.external_id).count()
    client.get(f"{FHIR}/Observation", {"patient": patient.external_id})
    client.get(f"{FHIR}/Patient/{patient.external_id}")
    after = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW,
                                      patient_id=patient.external_id, actor=navigator).count()
    assert after == before + 2

    administration = Administration.objects.filter(cycle__course=course).first()
    pdf = client.get(f"{FHIR}/Binary/instructions-{administration.cycle.external_id}",
                     HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    letter = client.get(f"{FHIR}/Binary/letter-{course.letter.external_id}",
                        HTTP_ACCEPT="application/fhir+json")
    assert letter.json()["resourceType"] == "Binary"
    assert letter.json()["contentType"] == "application/pdf"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, actor=navigator,
                                     note__contains="FHIR Binary").count() == 2


def test_outsiders_see_nothing_of_the_course(course, oncologist, oncologist2,
                                             outside_specialist):
    patient = course.patient
    assert client_for(oncologist).get(
        f"{FHIR}/Patient/{patient.external_id}/$everything").status_code == 200
    letter_id = f"letter-{course.letter.external_id}"
    for outsider in (oncologist2, outside_specialist):
        client = client_for(outsider)
        for url in (f"{FHIR}/Patient/{patient.external_id}/$everything",
                    f"{FHIR}/CarePlan/{course.external_id}",
                    f"{FHIR}/DocumentReference/{letter_id}", f"{FHIR}/Binary/{letter_id}"):
            response = client.get(url)
            assert response.status_code == 404, url
            assert response.json()["resourceType"] == "OperationOutcome"
        for resource_type in TYPES:
            assert client.get(f"{FHIR}/{resource_type}").json()["total"] == 0
