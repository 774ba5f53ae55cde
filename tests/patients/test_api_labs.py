"""/api/v1/patients/{id}/labs/: values are checked by the rules' units; a bad one is refused
with the field named and nothing saved; results are never edited, only marked in error."""

from __future__ import annotations

import pytest

from netcare.models import AuditEvent
from patients.models import LabResult
from tests.apiclient import (
    API,
    VALID_LAB,
    assert_uuid_references,
    client_for,
    results,
)

pytestmark = pytest.mark.django_db


def labs_url(patient) -> str:
    return f"{API}/patients/{patient.external_id}/labs/"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit": "g/L"}, "unit"),  # not a unit for platelets
        ({"unit": "G/L"}, "unit"),  # never guessed
        ({"unit": ""}, "unit"),
        ({"analyte": "troponin"}, "analyte"),
        ({"analyte": ""}, "analyte"),
        ({"value": "-5"}, "value"),
        ({"analyte": "creatinine", "unit": "umol/L", "value": "0"}, "value"),
        ({"value": "999999"}, "value"),  # physiologically impossible
        ({"value": "abc"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": None}, "value"),
        ({"collected_at": "yesterday"}, "collected_at"),
        ({"collected_at": None}, "collected_at"),
        ({"analyte": "bilirubin", "unit": "umol/L", "value": "12"}, "uln"),  # ULN needed
        ({"analyte": "alt", "unit": "U/L", "value": "30", "uln": "-1"}, "uln"),
        ({"analyte": "inr", "unit": "%", "value": "1.1"}, "unit"),
        ({"analyte": "hemoglobin", "unit": "g/dL", "value": "90"}, "value"),
    ],
)
def test_bad_lab_input_names_the_field_and_saves_nothing(patient, navigator, change, field):
    response = client_for(navigator).post(labs_url(patient), {**VALID_LAB, **change},
                                          format="json")
    assert response.status_code == 400, response.data
    body = response.json()["errors"]
    assert list(body) == [field], body
    assert all(isinstance(message, str) and message for message in body[field])
    assert not LabResult.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "lab",
    [
        VALID_LAB,
        {**VALID_LAB, "value": "180000", "unit": "/uL"},
        {"analyte": "creatinine", "value": "1.1", "unit": "mg/dL",
         "collected_at": "2025-03-10T08:30:00+01:00"},
        {"analyte": "bilirubin", "value": "12", "unit": "umol/L", "uln": "21",
         "collected_at": "2025-03-10T08:30:00Z"},
        {"analyte": "inr", "value": "1.1", "unit": "", "collected_at": "2025-03-10T08:30:00Z"},
    ],
)
def test_valid_lab_is_saved_and_audited(patient, oncologist, lab):
    response = client_for(oncologist).post(labs_url(patient), lab, format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    assert_uuid_references(body)
    saved = LabResult.objects.get(external_id=body["id"])
    assert (saved.patient, saved.analyte, saved.unit, saved.entered_by) == (
        patient, lab["analyte"], lab["unit"], oncologist)
    assert body["entered_by"] == str(oncologist.external_id)
    assert body["entered_in_error"] is False
    assert AuditEvent.objects.filter(action="create", object_id=body["id"]).exists()


def test_entered_in_error_needs_a_reason_and_keeps_the_result(patient, navigator):
    client = client_for(navigator)
    response = client.post(labs_url(patient), VALID_LAB, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    mark = f"{labs_url(patient)}{created['id']}/mark-in-error/"

    refused = client.post(mark, {"reason": "  "}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["reason"]
    assert LabResult.objects.get(external_id=created["id"]).entered_in_error is False

    response = client.post(mark, {"reason": "Sample from another patient"}, format="json")
    assert response.status_code == 200
    assert response.json()["entered_in_error"] is True
    rows = results(client.get(labs_url(patient)))
    assert [(row["id"], row["entered_in_error"]) for row in rows] == [(created["id"], True)]
    change = AuditEvent.objects.get(action="update")
    assert change.note == "Sample from another patient"


def test_labs_cannot_be_edited_or_deleted(patient, navigator):
    client = client_for(navigator)
    response = client.post(labs_url(patient), VALID_LAB, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    detail = f"{labs_url(patient)}{created['id']}/"
    assert client.put(detail, {**VALID_LAB, "value": "90"}, format="json").status_code == 405
    assert client.patch(detail, {"value": "90"}, format="json").status_code == 405
    assert client.delete(detail).status_code == 405
    assert LabResult.objects.get().value == 180
