"""Helpers shared by the REST API tests: clients per persona, records in a given state, and the
check that payloads carry UUIDs only."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from rest_framework.test import APIClient

from patients.models import AdverseEvent, ImagingStudy, LabResult, PerformanceStatus
from referrals.models import Referral

API = "/api/v1"

# Keys whose values reference another object: each must be a UUID string (or null), never a key.
REFERENCE_KEYS = {
    "id", "patient", "centre", "referring_oncologist", "primary_oncologist", "reviewer",
    "entered_by", "reported_by",
}


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def results(response) -> list[dict[str, Any]]:
    """The rows of a paginated list response."""
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}, body
    return body["results"]


def assert_uuid_references(data: Any) -> None:
    """Every object reference in `data` is a UUID string; no integer key appears anywhere."""
    if isinstance(data, list):
        for item in data:
            assert_uuid_references(item)
    elif isinstance(data, dict):
        assert "pk" not in data
        for key, value in data.items():
            if key in REFERENCE_KEYS and value is not None:
                assert isinstance(value, str), (key, value)
                uuid.UUID(value)
            assert_uuid_references(value)


def make_referral(patient, *, state: str = "draft", question: str = "PRRT?") -> Referral:
    """A referral of `patient` by its referring oncologist to its centre, already in `state`
    (the state is set at creation; the workflow itself is exercised through the API)."""
    return Referral.objects.create(
        patient=patient, referring_oncologist=patient.referring_oncologist,
        centre=patient.centre, question=question, state=state,
    )


def make_records(patient, actor) -> dict[str, Any]:
    """One record of each kind for `patient`."""
    collected = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
    return {
        "lab": LabResult.objects.create(patient=patient, analyte="platelets", value=210,
                                        unit="10^9/L", collected_at=collected, entered_by=actor),
        "imaging": ImagingStudy.objects.create(
            patient=patient, modality=ImagingStudy.Modality.GA68_PET,
            performed_on=dt.date(2025, 2, 20), sstr_positive=True, uptake_score=3,
            entered_by=actor),
        "adverse_event": AdverseEvent.objects.create(
            patient=patient, term="Nausea", ctcae_grade=1, onset_on=dt.date(2025, 3, 2),
            reported_by=actor),
        "performance": PerformanceStatus.objects.create(
            patient=patient, scale="ecog", value=1, assessed_on=dt.date(2025, 3, 1),
            entered_by=actor),
    }


VALID_LAB = {"analyte": "platelets", "value": "180", "unit": "10^9/L",
             "collected_at": "2025-03-10T08:30:00Z"}
VALID_IMAGING = {"modality": "ga68_dotatate_pet", "performed_on": "2025-03-01",
                 "sstr_positive": True, "uptake_score": 3}
VALID_ADVERSE_EVENT = {"term": "Nausea", "category": "other", "ctcae_grade": 2,
                       "onset_on": "2025-03-05"}
VALID_PERFORMANCE = {"scale": "ecog", "value": 1, "assessed_on": "2025-03-01"}
VALID_TUMOUR = {"primary_site": "small_bowel", "embryonic_origin": "midgut",
                "differentiation": "well", "ki67_percent": "4.0", "stage": "IV",
                "metastatic_or_unresectable": True}
