"""The patient record page: labs entered through the rules' units, adverse events reported,
the grade derived and never typed."""

import datetime as dt

import pytest
from django.urls import reverse

from netcare.models import Notification
from patients.models import AdverseEvent, LabResult
from patients.services import tumour_profile_save

pytestmark = pytest.mark.django_db


def lab_post(**overrides):
    data = {"labs-collected_on": "2026-11-20", "labs-collected_time": "08:00",
            "labs-platelets_value": "74000", "labs-platelets_unit": "/uL",
            "labs-neutrophils_value": "0.9", "labs-neutrophils_unit": "10^9/L"}
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))


@pytest.mark.parametrize("persona", ["navigator", "specialist", "oncologist"])
def test_labs_are_saved_with_their_unit(client, request, patient, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(reverse("patients:labs-add", args=[patient.external_id]), lab_post())
    assert response.status_code == 302
    platelets = LabResult.objects.get(analyte="platelets")
    assert (platelets.value, platelets.unit) == (74000, "/uL")
    assert LabResult.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [("labs-platelets_value", "-1"), ("labs-platelets_value", "9000000"),
     ("labs-platelets_unit", "mmol/L"), ("labs-neutrophils_value", "inf"),
     ("labs-collected_on", "2027-01-01"), ("labs-collected_on", "")],
)
def test_bad_lab_is_a_form_error_and_nothing_is_saved(client, navigator, patient, field, value):
    client.force_login(navigator)
    response = client.post(reverse("patients:labs-add", args=[patient.external_id]),
                           lab_post(**{field: value}))
    assert response.status_code == 400
    assert field.removeprefix("labs-") in response.context["lab_form"].errors
    assert not LabResult.objects.exists()


def test_an_empty_panel_is_refused(client, navigator, patient):
    client.force_login(navigator)
    response = client.post(reverse("patients:labs-add", args=[patient.external_id]),
                           {"labs-collected_on": "2026-11-20"})
    assert response.status_code == 400
    assert "Enter at least one lab value." in response.content.decode()


def test_outsiders_cannot_add_labs(client, oncologist2, patient):
    client.force_login(oncologist2)
    response = client.post(reverse("patients:labs-add", args=[patient.external_id]), lab_post())
    assert response.status_code == 404
    assert not LabResult.objects.exists()


def test_reporting_an_adverse_event_notifies_the_team(client, oncologist, navigator, specialist,
                                                      patient, django_capture_on_commit_callbacks):
    client.force_login(oncologist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("patients:adverse-event-add", args=[patient.external_id]),
            {"ae-term": "Platelet count decreased", "ae-category": "thrombocytopenia",
             "ae-ctcae_grade": "3", "ae-onset_on": "2026-11-19",
             "ae-related_to_treatment": "on", "ae-description": ""})
    assert response.status_code == 302
    event = AdverseEvent.objects.get()
    assert (event.ctcae_grade, event.reported_by) == (3, oncologist)
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {
        "navigator", "specialist"}


def test_adverse_event_grade_out_of_range_is_a_form_error(client, oncologist, patient):
    client.force_login(oncologist)
    response = client.post(
        reverse("patients:adverse-event-add", args=[patient.external_id]),
        {"ae-term": "Nausea", "ae-category": "other", "ae-ctcae_grade": "7",
         "ae-onset_on": "2026-11-19"})
    assert response.status_code == 400
    assert "ctcae_grade" in response.context["ae_form"].errors
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize(
    ("differentiation", "ki67", "mitoses", "grade"),
    [("well", "2.9", None, "G1"), ("well", "3.0", None, "G2"), ("well", "20.0", None, "G2"),
     ("well", "20.1", None, "G3"), ("well", "1", "21", "G3"), ("poor", "5", None, "NEC"),
     ("well", None, None, "unknown")],
)
def test_grade_is_derived_by_the_rules(navigator, patient, differentiation, ki67, mitoses, grade):
    profile = tumour_profile_save(actor=navigator, patient=patient, data={
        "primary_site": "pancreas", "differentiation": differentiation, "ki67_percent": ki67,
        "mitoses_per_2mm2": mitoses})
    assert profile.grade == grade
    assert profile.grade_explanation


def test_record_page_shows_the_record(client, specialist, patient):
    tumour_profile_save(actor=specialist, patient=patient, data={
        "primary_site": "small_bowel", "differentiation": "well", "ki67_percent": "4"})
    client.force_login(specialist)
    page = client.get(reverse("patients:detail", args=[patient.external_id])).content.decode()
    assert "NET G2" in page and patient.mrn in page
