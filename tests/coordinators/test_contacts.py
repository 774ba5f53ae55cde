"""The contact log service: who may log a contact, what is refused, the audit row and the
ContactLogged event on commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from coordinators.contacts import contact_log_add
from coordinators.models import CareTask, ContactLogEntry, OwnerParty, TaskKind
from netcare import events
from netcare.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC)  # the course fixture's clock


@pytest.fixture
def logged():
    """The ContactLogged events whose handlers ran; the bus is restored afterwards."""
    seen: list[events.ContactLogged] = []
    saved = {key: list(value) for key, value in events._handlers.items()}
    events.subscribe(events.ContactLogged, seen.append)
    yield seen
    events._handlers.clear()
    events._handlers.update(saved)


def checkin_task(course) -> CareTask:
    return CareTask.objects.create(
        course=course, patient=course.patient, kind=TaskKind.RADIATION_SAFETY_CHECKIN, cycle=1,
        owner_party=OwnerParty.CENTRE, earliest=dt.date(2025, 1, 8), due=dt.date(2025, 1, 9),
        latest=dt.date(2025, 1, 10))


def log(actor, patient, **overrides):
    values = {"kind": ContactLogEntry.Kind.CALL, "party": ContactLogEntry.Party.PATIENT,
              "occurred_at": NOW - dt.timedelta(hours=1),
              "summary": "No nausea; precautions understood."}
    return contact_log_add(actor=actor, patient=patient, **{**values, **overrides})


def test_a_navigator_logs_a_call_for_a_task(navigator, course, logged,
                                            django_capture_on_commit_callbacks):
    task = checkin_task(course)
    with django_capture_on_commit_callbacks(execute=True):
        entry = log(navigator, course.patient, task=task, summary="  Feels well.  ")
        assert logged == []  # not before the commit
    entry.refresh_from_db()
    assert (entry.patient, entry.task, entry.kind, entry.party, entry.summary,
            entry.recorded_by) == (course.patient, task, "call", "patient", "Feels well.",
                                   navigator)
    assert entry.occurred_at == NOW - dt.timedelta(hours=1)
    assert logged == [events.ContactLogged(patient_id=course.patient.pk, entry_id=entry.pk,
                                           task_id=task.pk)]


def test_the_entry_is_audited(navigator, course):
    entry = log(navigator, course.patient)
    row = AuditEvent.objects.get(action=AuditEvent.Action.CREATE,
                                 object_type="coordinators.ContactLogEntry")
    assert (row.actor, row.object_id, row.patient_id) == (
        navigator, str(entry.external_id), course.patient.external_id)
    assert row.changes["summary"] == [None, "No nausea; precautions understood."]


def test_without_a_task_the_event_says_so(oncologist, course, logged,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = log(oncologist, course.patient, kind="message",
                    party=ContactLogEntry.Party.REFERRING_ONCOLOGIST)
    assert entry.recorded_by == oncologist  # the patient's oncologist may log too
    assert logged == [events.ContactLogged(patient_id=course.patient.pk, entry_id=entry.pk,
                                           task_id=None)]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"occurred_at": NOW + dt.timedelta(hours=1)}, "occurred_at"),
    ({"occurred_at": dt.datetime(2024, 12, 17, 8, 0)}, "occurred_at"),  # no time zone
    ({"occurred_at": dt.date(2024, 12, 17)}, "occurred_at"),
    ({"summary": "   "}, "summary"),
    ({"kind": "fax"}, "kind"),
    ({"party": "neighbour"}, "party"),
])
def test_bad_input_names_the_field(navigator, course, logged, overrides, field,
                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(ValidationError) as caught:
        log(navigator, course.patient, **overrides)
    assert field in caught.value.message_dict
    assert not ContactLogEntry.objects.exists()
    assert callbacks == [] and logged == []


def test_a_few_minutes_of_clock_skew_is_not_the_future(navigator, course):
    entry = log(navigator, course.patient, occurred_at=NOW + dt.timedelta(minutes=2))
    assert entry.pk


def test_a_task_of_another_patient_is_refused(navigator, course, centre, oncologist):
    other = PatientFactory(centre=centre, referring_oncologist=oncologist)
    with pytest.raises(ValidationError) as caught:
        log(navigator, other, task=checkin_task(course))
    assert caught.value.message_dict == {"task": ["That task belongs to another patient."]}
    assert not ContactLogEntry.objects.exists()


@pytest.mark.parametrize("persona", ["outside_navigator", "oncologist2"])
def test_someone_who_may_not_see_the_patient_gets_a_404(request, course, persona):
    with pytest.raises(Http404):
        log(request.getfixturevalue(persona), course.patient)
    assert not ContactLogEntry.objects.exists()
    assert not AuditEvent.objects.filter(object_type="coordinators.ContactLogEntry").exists()
