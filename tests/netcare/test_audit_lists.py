"""Reads of many patients at once are audited, one row per list or page naming every patient it
returned; refused requests are audited; the rows naming patients are append-only too."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from coordinators.plan import plan_sync
from netcare.models import AuditEvent, AuditEventPatient
from tests.apiclient import API, client_for
from tests.factories import PatientFactory
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.django_db

LIST = AuditEvent.Action.LIST
REFUSED = AuditEvent.Action.REFUSED


def named(event: AuditEvent) -> set[str]:
    return {str(pid) for pid in event.patients.values_list("patient_id", flat=True)}


def only_list_row(what: str) -> AuditEvent:
    rows = list(AuditEvent.objects.filter(action=LIST, note=what))
    assert len(rows) == 1, [(r.note, r.action) for r in AuditEvent.objects.all()]
    return rows[0]


@pytest.fixture
def patients(centre, oncologist):
    return [PatientFactory(centre=centre, referring_oncologist=oncologist) for _ in range(4)]


def test_the_patient_list_api_names_every_patient_it_returned(navigator, patients):
    response = client_for(navigator).get(f"{API}/patients/", {"limit": 3})
    assert response.status_code == 200
    returned = {row["id"] for row in response.json()["results"]}
    assert len(returned) == 3
    event = only_list_row("api:patient-list")
    assert event.actor == navigator and event.patient_id is None
    assert named(event) == returned
    assert event.changes == {"count": 3}


def test_course_cycle_and_task_lists_name_their_patients(navigator, specialist, centre,
                                                         oncologist):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date(2026, 12, 7))
    plan_sync(course=course, today=dt.date(2026, 11, 2))
    client = client_for(navigator)
    for path, what in (("courses", "api:course-list"), ("cycles", "api:cycle-list"),
                       ("care-tasks", "api:care-task-list"), ("referrals", "api:referral-list")):
        assert client.get(f"{API}/{path}/").status_code == 200
        assert named(only_list_row(what)) == {str(course.patient.external_id)}, path


def test_an_empty_list_and_a_list_under_one_patient_write_no_list_row(navigator, oncologist2,
                                                                       patients):
    assert client_for(oncologist2).get(f"{API}/patients/").json()["count"] == 0
    assert client_for(navigator).get(
        f"{API}/patients/{patients[0].external_id}/labs/").status_code == 200
    assert not AuditEvent.objects.filter(action=LIST).exists()
    # The nested read is audited as a view of that one patient instead.
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW,
                                     patient_id=patients[0].external_id).exists()


def test_the_role_home_pages_and_the_caseload_name_the_patients_they_show(
        client, navigator, specialist, oncologist, centre):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date(2026, 12, 7))
    plan_sync(course=course, today=dt.date(2026, 11, 2))
    expected = {str(course.patient.external_id)}
    for user, url, what in ((oncologist, "oncologist-home", "oncologist-home"),
                            (navigator, "navigator-home", "caseload"),
                            (navigator, "prrt:courses", "course-list"),
                            (navigator, "coordinators:tasks", "my-tasks")):
        client.force_login(user)
        assert client.get(reverse(url)).status_code == 200, url
        assert named(only_list_row(what)) == expected, url


def test_a_role_refused_a_page_is_audited_with_who_and_what(client, navigator):
    client.force_login(navigator)
    assert client.get(reverse("specialist-home")).status_code == 403
    event = AuditEvent.objects.get(action=REFUSED)
    assert event.actor == navigator
    assert event.note == "GET /specialist/"
    assert event.changes == {"status": 403, "method": "GET"}


def test_a_record_outside_the_users_scope_is_audited_as_refused(client, oncologist2, patients):
    client.force_login(oncologist2)
    url = reverse("patients:detail", args=[patients[0].external_id])
    assert client.get(url + "?q=Name").status_code == 404
    event = AuditEvent.objects.get(action=REFUSED)
    assert event.actor == oncologist2
    assert event.note == f"GET {url}"  # ids only, never the query string
    api = client_for(oncologist2).get(f"{API}/patients/{patients[0].external_id}/")
    assert api.status_code == 404
    assert AuditEvent.objects.filter(action=REFUSED, actor=oncologist2).count() == 2


def test_an_anonymous_api_call_and_a_post_without_csrf_are_audited(patients):
    from django.test import Client

    assert client_for(None).get(f"{API}/patients/").status_code in (401, 403)
    anonymous = AuditEvent.objects.get(action=REFUSED)
    assert anonymous.actor is None and anonymous.note == f"GET {API}/patients/"
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("login"), {"username": "x", "password": "y"}).status_code == 403
    assert AuditEvent.objects.filter(action=REFUSED, note="POST /accounts/login/").exists()


def test_an_anonymous_404_is_not_audited(client):
    assert client.get("/no-such-page/").status_code == 404
    assert not AuditEvent.objects.filter(action=REFUSED).exists()


def test_the_patients_named_by_a_list_row_are_append_only(navigator, patients):
    client_for(navigator).get(f"{API}/patients/")
    rows = AuditEventPatient.objects.all()
    assert rows.count() == 4
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL trigger; the suite runs on PostgreSQL under make test")
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        rows.update(patient_id=patients[0].external_id)
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        rows.delete()
    assert rows.count() == 4
