"""Every list endpoint runs a fixed number of queries, whether it lists 3 rows or 30."""

from __future__ import annotations

import datetime as dt

import pytest

from patients.models import AdverseEvent, ImagingStudy, LabResult, PerformanceStatus
from referrals.models import ReferralEvent, ReferralNote, ReferralState
from tests.apiclient import (
    API,
    client_for,
    make_referral,
    results,
)
from tests.factories import PatientFactory
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


def assert_list(client, url: str, *, rows: int, queries: int) -> None:
    """The list at `url` shows `rows` rows in exactly `queries` queries."""
    with assert_queries(queries):
        response = client.get(url)
        assert response.status_code == 200
        assert len(results(response)) == rows


def add_patients(centre, oncologist, count: int) -> None:
    for _ in range(count):
        patient = PatientFactory(centre=centre, referring_oncologist=oncologist)
        make_referral(patient, state=ReferralState.SUBMITTED)


# Top-level lists: 1) COUNT for the page, 2) the page, its references joined in, 3) the
# audit row of the list and 4) the patients it names (read off the joined rows).
@pytest.mark.parametrize("persona", ["specialist", "navigator", "oncologist"])
@pytest.mark.parametrize("path", ["patients/", "referrals/"])
def test_top_level_lists(request, centre, oncologist, persona, path):
    client = client_for(request.getfixturevalue(persona))
    add_patients(centre, oncologist, 3)
    assert_list(client, f"{API}/{path}", rows=3, queries=4)
    add_patients(centre, oncologist, 27)
    assert_list(client, f"{API}/{path}", rows=30, queries=4)


def _lab(patient, actor, i):
    return LabResult(patient=patient, analyte="platelets", value=200 + i, unit="10^9/L",
                     collected_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i),
                     entered_by=actor)


def _imaging(patient, actor, i):
    return ImagingStudy(patient=patient, modality="ct", entered_by=actor,
                        performed_on=dt.date(2025, 1, 1) + dt.timedelta(days=i))


def _adverse_event(patient, actor, i):
    return AdverseEvent(patient=patient, term=f"Fatigue {i}", ctcae_grade=1, reported_by=actor,
                        onset_on=dt.date(2025, 1, 1) + dt.timedelta(days=i))


def _performance(patient, actor, i):
    return PerformanceStatus(patient=patient, scale="ecog", value=i % 3, entered_by=actor,
                             assessed_on=dt.date(2025, 1, 1) + dt.timedelta(days=i))


# Lists under a patient: 1) the patient, through access, 2) the audit row of the read,
# 3) COUNT, 4) the page with its author joined in.
@pytest.mark.parametrize(
    ("tail", "build"),
    [("labs/", _lab), ("imaging/", _imaging), ("adverse-events/", _adverse_event),
     ("performance-status/", _performance)],
)
def test_patient_record_lists(patient, specialist, navigator, oncologist, tail, build):
    authors = [specialist, navigator, oncologist]
    model = type(build(patient, specialist, 0))
    url = f"{API}/patients/{patient.external_id}/{tail}"
    client = client_for(specialist)
    model.objects.bulk_create([build(patient, authors[i % 3], i) for i in range(3)])
    assert_list(client, url, rows=3, queries=4)
    model.objects.bulk_create([build(patient, authors[i % 3], i) for i in range(3, 30)])
    assert_list(client, url, rows=30, queries=4)


# Lists under a referral: 1) the referral, through access, 2) the audit row of the read,
# 3) COUNT, 4) the page with its author joined in.
@pytest.mark.parametrize("tail", ["events/", "notes/"])
def test_referral_lists(patient, specialist, navigator, oncologist, tail):
    authors = [specialist, navigator, oncologist]
    referral = make_referral(patient, state=ReferralState.UNDER_REVIEW)
    url = f"{API}/referrals/{referral.external_id}/{tail}"
    client = client_for(oncologist)

    def add(start, stop):
        if tail == "events/":
            ReferralEvent.objects.bulk_create(
                ReferralEvent(referral=referral, actor=authors[i % 3], transition="start_review",
                              source="submitted", target="under_review")
                for i in range(start, stop))
        else:
            ReferralNote.objects.bulk_create(
                ReferralNote(referral=referral, author=authors[i % 3], body=f"Note {i}")
                for i in range(start, stop))

    add(0, 3)
    assert_list(client, url, rows=3, queries=4)
    add(3, 30)
    assert_list(client, url, rows=30, queries=4)
