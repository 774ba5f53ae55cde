"""Audit rows for views and changes; append-only; visible to administrators only."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from coordinators.letters import letter_prepare
from netcare import audit
from netcare.models import AuditEvent
from prrt import services
from prrt.bookings import cycle_book
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.django_db


def test_viewing_a_patient_is_audited(client, navigator, patient):
    client.force_login(navigator)
    response = client.get(reverse("patients:detail", args=[patient.external_id]))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert event.actor == navigator
    assert event.patient_id == patient.external_id
    assert event.object_type == "patients.Patient"
    assert event.object_id == str(patient.external_id)


def test_a_refused_view_is_not_recorded_as_a_view(client, oncologist2, patient):
    client.force_login(oncologist2)
    assert client.get(reverse("patients:detail", args=[patient.external_id])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).exists()


def test_a_change_records_old_and_new_values(navigator, patient):
    before = audit.snapshot(patient, ["family_name", "mrn"])
    patient.family_name = "Renamed"
    patient.save()
    event = audit.record_update(actor=navigator, obj=patient, before=before, note="typo")
    assert event.changes == {"family_name": [before["family_name"], "Renamed"]}
    assert event.patient_id == patient.external_id
    assert event.note == "typo"


def test_creation_and_transition_rows(navigator, patient):
    created = audit.record_create(actor=navigator, obj=patient)
    assert created.changes["mrn"] == [None, patient.mrn]
    moved = audit.record_transition(actor=navigator, obj=patient, source="a", target="b")
    assert moved.changes == {"state": ["a", "b"]}


def test_audit_rows_are_append_only(navigator, patient):
    event = audit.record_view(actor=navigator, obj=patient)
    event.note = "tampered"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).note == ""


def test_administrator_reads_the_trail_in_admin(client, administrator, navigator, patient):
    audit.record_view(actor=navigator, obj=patient)
    client.force_login(administrator)
    response = client.get(reverse("admin:netcare_auditevent_changelist"))
    assert response.status_code == 200
    assert str(patient.external_id) in response.content.decode()
    event = AuditEvent.objects.get()
    change = client.post(reverse("admin:netcare_auditevent_change", args=[event.pk]),
                         {"note": "edited"})
    assert change.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).note == ""
    # ...and the refused change is itself on the trail.
    refused = AuditEvent.objects.get(action=AuditEvent.Action.REFUSED)
    assert refused.actor == administrator and refused.changes["status"] == 403


def test_clinical_staff_cannot_open_admin(client, navigator):
    client.force_login(navigator)
    response = client.get(reverse("admin:netcare_auditevent_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_rows_of_decisions_administrations_bookings_and_letters_carry_the_patient(
        centre, oncologist, specialist, navigator, time_machine):
    """Every clinical change of a course names its patient, whatever the object."""
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, tzinfo=dt.UTC), tick=False)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date(2025, 1, 6))
    cycle_book(actor=navigator, cycle=course.cycles.get(number=1),
               booked_date=dt.date(2025, 1, 6), place="Room 1")
    enter_labs(navigator, course.patient, dt.date(2025, 1, 4))
    services.cycle_refresh(cycle=course.cycles.get(number=1), today=dt.date(2025, 1, 4))
    services.cycle_decide(actor=specialist, cycle=course.cycles.get(number=1),
                          decision="approve", activity_gbq=Decimal("7.4"),
                          today=dt.date(2025, 1, 5))
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, tzinfo=dt.UTC), tick=False)
    give(navigator, course.cycles.get(number=1), dt.date(2025, 1, 6))
    letter_prepare(actor=navigator, course=course)
    rows = AuditEvent.objects.filter(object_type__in=[
        "prrt.Cycle", "prrt.CycleDecision", "prrt.Administration", "coordinators.ReferralLetter"])
    assert {r.object_type for r in rows} == {"prrt.Cycle", "prrt.CycleDecision",
                                             "prrt.Administration",
                                             "coordinators.ReferralLetter"}
    assert {r.patient_id for r in rows} == {course.patient.external_id}
