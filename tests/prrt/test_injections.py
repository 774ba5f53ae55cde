"""SSA injections: the service (who may record one, what is refused, the last long-acting day,
the audit rows, the event on commit) and `/api/v1/ssa-injections/`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from netcare import events
from netcare.models import AuditEvent
from prrt.injections import ssa_injection_record
from prrt.models import SSAInjection
from tests.apiclient import API, assert_uuid_references, client_for, results
from tests.factories import PatientFactory
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db

# Summer: London (the centre's zone) is UTC+1, so a late-evening UTC time is the next day there.
NOW = dt.datetime(2025, 7, 10, 12, 0, tzinfo=dt.UTC)
URL = f"{API}/ssa-injections/"


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def recorded():
    """The SSAInjectionRecorded events whose handlers ran; the bus is restored afterwards."""
    seen: list[events.SSAInjectionRecorded] = []
    saved = {key: list(value) for key, value in events._handlers.items()}
    events.subscribe(events.SSAInjectionRecorded, seen.append)
    yield seen
    events._handlers.clear()
    events._handlers.update(saved)


def record(actor, patient, **overrides) -> SSAInjection:
    values = {"agent": "octreotide_lar", "given_at": NOW - dt.timedelta(days=1),
              "dose_mg": Decimal("30"), "given_by": "Practice nurse", "place": "Hillview"}
    return ssa_injection_record(actor=actor, patient=patient, **{**values, **overrides})


# --- the service ----------------------------------------------------------------------------


def test_a_long_acting_injection_moves_the_last_long_acting_day(
        navigator, patient, recorded, django_capture_on_commit_callbacks):
    patient.last_long_acting_ssa_on = dt.date(2025, 6, 1)
    patient.save()
    with django_capture_on_commit_callbacks(execute=True):
        injection = record(navigator, patient, given_at=dt.datetime(2025, 7, 8, 23, 30,
                                                                    tzinfo=dt.UTC))
        assert recorded == []  # not before the commit
    injection.refresh_from_db()
    assert (injection.patient, injection.agent, injection.dose_mg, injection.given_by,
            injection.place, injection.recorded_by) == (
        patient, "octreotide_lar", Decimal("30.0"), "Practice nurse", "Hillview", navigator)
    patient.refresh_from_db()
    assert patient.last_long_acting_ssa_on == dt.date(2025, 7, 9)  # 00:30 in London
    assert recorded == [events.SSAInjectionRecorded(patient_id=patient.pk,
                                                    injection_id=injection.pk)]


def test_the_injection_and_the_new_day_are_audited(oncologist, patient):
    injection = record(oncologist, patient)
    create = AuditEvent.objects.get(action=AuditEvent.Action.CREATE,
                                    object_type="prrt.SSAInjection")
    assert (create.actor, create.object_id, create.patient_id) == (
        oncologist, str(injection.external_id), patient.external_id)
    update = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE,
                                    object_type="patients.Patient")
    assert update.actor == oncologist
    assert update.changes == {"last_long_acting_ssa_on": [None, "2025-07-09"]}


def test_an_earlier_injection_leaves_the_last_day_alone(navigator, patient):
    patient.last_long_acting_ssa_on = dt.date(2025, 7, 1)
    patient.save()
    record(navigator, patient, given_at=dt.datetime(2025, 6, 3, 10, 0, tzinfo=dt.UTC))
    patient.refresh_from_db()
    assert patient.last_long_acting_ssa_on == dt.date(2025, 7, 1)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_a_short_acting_injection_is_not_a_long_acting_one(navigator, patient):
    record(navigator, patient, agent="octreotide_sc", dose_mg=Decimal("0.1"))
    patient.refresh_from_db()
    assert patient.last_long_acting_ssa_on is None
    assert SSAInjection.objects.get().agent == "octreotide_sc"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"agent": "none"}, "agent"),
    ({"agent": "pasireotide"}, "agent"),
    ({"given_at": NOW + dt.timedelta(hours=1)}, "given_at"),
    ({"given_at": dt.datetime(2025, 7, 9, 10, 0)}, "given_at"),  # no time zone
    ({"dose_mg": Decimal("-30")}, "dose_mg"),
    ({"dose_mg": "thirty"}, "dose_mg"),
    ({"dose_mg": Decimal("12.25")}, "dose_mg"),  # one decimal place is kept
])
def test_bad_input_names_the_field(navigator, patient, recorded, overrides, field,
                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(ValidationError) as caught:
        record(navigator, patient, **overrides)
    assert field in caught.value.message_dict
    assert not SSAInjection.objects.exists()
    patient.refresh_from_db()
    assert patient.last_long_acting_ssa_on is None
    assert callbacks == [] and recorded == []


@pytest.mark.parametrize("persona", ["outside_navigator", "oncologist2"])
def test_someone_who_may_not_see_the_patient_gets_a_404(request, patient, persona):
    with pytest.raises(Http404):
        record(request.getfixturevalue(persona), patient)
    assert not SSAInjection.objects.exists()


# --- the API --------------------------------------------------------------------------------

BODY = {"agent": "lanreotide", "given_at": "2025-07-09T09:30:00+01:00", "dose_mg": "120",
        "given_by": "District nurse", "place": "At home"}


def test_api_records_an_injection(navigator, patient):
    response = client_for(navigator).post(
        URL, {**BODY, "patient": str(patient.external_id)}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    injection = SSAInjection.objects.get()
    assert body["id"] == str(injection.external_id)
    assert (body["patient"], body["agent"], body["dose_mg"], body["recorded_by"]) == (
        str(patient.external_id), "lanreotide", "120.0", str(navigator.external_id))
    assert_uuid_references(body)
    patient.refresh_from_db()
    assert patient.last_long_acting_ssa_on == dt.date(2025, 7, 9)


def test_api_the_referring_oncologist_records_one(oncologist, patient):
    response = client_for(oncologist).post(
        URL, {**BODY, "patient": str(patient.external_id), "dose_mg": None}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["dose_mg"] is None


@pytest.mark.parametrize(("change", "field"), [
    ({"agent": "none"}, "agent"),
    ({"given_at": "2025-07-11T09:00:00+00:00"}, "given_at"),  # tomorrow
    ({"given_at": "2025-07-09T09:00:00"}, "given_at"),  # no time zone
    ({"dose_mg": "-1"}, "dose_mg"),
    ({"patient": "not-a-uuid"}, "patient"),
])
def test_api_bad_input_is_a_400_naming_the_field(navigator, patient, change, field):
    body = {**BODY, "patient": str(patient.external_id), **change}
    response = client_for(navigator).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not SSAInjection.objects.exists()


def test_api_missing_patient_is_a_400(navigator):
    response = client_for(navigator).post(URL, BODY, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "patient"


@pytest.mark.parametrize("persona", ["outside_navigator", "oncologist2"])
def test_api_a_patient_out_of_scope_is_a_404(request, patient, persona):
    response = client_for(request.getfixturevalue(persona)).post(
        URL, {**BODY, "patient": str(patient.external_id)}, format="json")
    assert response.status_code == 404
    assert not SSAInjection.objects.exists()


def test_api_list_is_scoped_and_filtered(navigator, outside_navigator, oncologist, centre,
                                         patient):
    mine = record(navigator, patient)
    other_patient = PatientFactory(centre=centre)  # another referrer's patient, same centre
    other = record(navigator, other_patient, given_at=NOW - dt.timedelta(days=3))

    rows = results(client_for(navigator).get(URL))
    assert [row["id"] for row in rows] == [str(mine.external_id), str(other.external_id)]
    assert [row["id"] for row in results(client_for(oncologist).get(URL))] == [
        str(mine.external_id)]
    assert results(client_for(outside_navigator).get(URL)) == []

    filtered = client_for(navigator).get(URL, {"patient": str(other_patient.external_id)})
    assert [row["id"] for row in results(filtered)] == [str(other.external_id)]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW,
                                     patient_id=other_patient.external_id).exists()
    # Another centre's patient named in the filter: nothing, and nothing said about them.
    assert results(client_for(outside_navigator).get(
        URL, {"patient": str(patient.external_id)})) == []
    assert client_for(navigator).get(URL, {"patient": "nope"}).status_code == 400


def test_api_one_injection_is_a_404_out_of_scope(navigator, outside_navigator, patient):
    injection = record(navigator, patient)
    url = f"{URL}{injection.external_id}/"
    assert client_for(outside_navigator).get(url).status_code == 404
    response = client_for(navigator).get(url)
    assert response.status_code == 200
    assert response.json()["id"] == str(injection.external_id)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW,
                                     object_type="prrt.SSAInjection").exists()


def test_api_anonymous_is_refused(patient):
    assert client_for(None).get(URL).status_code in (401, 403)


def test_api_list_keeps_its_query_count(navigator, patient):
    def add(count: int) -> None:
        for days in range(count):
            record(navigator, patient, given_at=NOW - dt.timedelta(days=days + 1))

    def load():
        response = client_for(navigator).get(URL, {"patient": str(patient.external_id)})
        assert response.status_code == 200
        return response

    add(1)
    response = assert_constant_queries(load, grow=lambda: add(4))
    assert len(results(response)) == 5
