"""Referral pages: the new-referral flow, the referral page with its actions, the inbox and
"My patients", with access and query-count checks."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from netcare.models import AuditEvent
from patients.models import ImagingStudy, LabResult, Patient, TumourProfile
from referrals.models import Referral, ReferralState
from tests.factories import PatientFactory, ReferralFactory
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db


def referral_post(centre, **overrides):
    data = {
        "patient-given_name": "Maya", "patient-family_name": "Moorland",
        "patient-date_of_birth": "1962-05-14", "patient-sex": "F", "patient-weight_kg": "68",
        "patient-email": "maya@patients.example", "patient-phone": "",
        "patient-reminder_consent": "on", "patient-current_ssa": "octreotide_lar",
        "patient-last_long_acting_ssa_on": "2026-10-20", "patient-progression_on_ssa": "true",
        "patient-pregnancy": "not_applicable",
        "tumour-primary_site": "small_bowel", "tumour-embryonic_origin": "midgut",
        "tumour-differentiation": "well", "tumour-ki67_percent": "3.0",
        "tumour-mitoses_per_2mm2": "1", "tumour-stage": "IV",
        "tumour-metastatic_or_unresectable": "on", "tumour-functional_syndrome": "carcinoid",
        "imaging-modality": "ga68_dotatate_pet", "imaging-performed_on": "2026-10-01",
        "imaging-sstr_positive": "true", "imaging-uptake_score": "3", "imaging-report": "",
        "labs-collected_on": "2026-11-15", "labs-collected_time": "08:30",
        "labs-platelets_value": "210", "labs-platelets_unit": "10^9/L",
        "labs-hemoglobin_value": "12.5", "labs-hemoglobin_unit": "g/dL",
        "labs-creatinine_value": "0.9", "labs-creatinine_unit": "mg/dL",
        "labs-bilirubin_value": "0.6", "labs-bilirubin_unit": "mg/dL", "labs-bilirubin_uln": "1.2",
        "labs-prothrombin_ratio_percent": "95",
        "referral-centre": str(centre.pk), "referral-urgency": "routine",
        "referral-question": "PRRT candidate?", "referral-history": "Progressing on LAR.",
        "submit": "1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def today_fixed(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))


def test_new_referral_creates_everything_in_one_flow(client, oncologist, centre, today_fixed):
    client.force_login(oncologist)
    assert client.get(reverse("referrals:new")).status_code == 200
    response = client.post(reverse("referrals:new"), referral_post(centre))
    assert response.status_code == 302, response.content.decode()[:2000]
    referral = Referral.objects.get()
    assert referral.state == ReferralState.SUBMITTED
    patient = referral.patient
    assert (patient.centre, patient.referring_oncologist) == (centre, oncologist)
    assert patient.mrn.startswith("NC")
    assert TumourProfile.objects.get(patient=patient).grade == "G2"  # Ki-67 3.0 is G2
    assert ImagingStudy.objects.filter(patient=patient, sstr_positive=True).count() == 1
    labs = {lab.analyte: lab for lab in LabResult.objects.filter(patient=patient)}
    assert set(labs) == {"platelets", "hemoglobin", "creatinine", "bilirubin",
                         "prothrombin_ratio_percent"}
    assert labs["hemoglobin"].unit == "g/dL"
    assert labs["bilirubin"].uln == Decimal("1.2")
    assert response["Location"] == reverse("referrals:detail", args=[referral.external_id])


def test_save_as_draft(client, oncologist, centre, today_fixed):
    client.force_login(oncologist)
    data = referral_post(centre)
    del data["submit"]
    data["draft"] = "1"
    assert client.post(reverse("referrals:new"), data).status_code == 302
    assert Referral.objects.get().state == ReferralState.DRAFT


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("labs-platelets_value", "-5", "labs-platelets_value"),
        ("labs-platelets_value", "6000", "labs-platelets_value"),
        ("labs-platelets_value", "lots", "labs-platelets_value"),
        ("labs-platelets_value", "NaN", "labs-platelets_value"),
        ("labs-platelets_unit", "G/L", "labs-platelets_unit"),
        ("labs-bilirubin_uln", "", "labs-bilirubin_uln"),
        ("labs-prothrombin_ratio_percent", "-3", "labs-prothrombin_ratio_percent"),
        ("tumour-ki67_percent", "140", "tumour-ki67_percent"),
        ("patient-date_of_birth", "2030-01-01", "patient-date_of_birth"),
    ],
)
def test_bad_input_is_a_form_error_naming_the_field_and_saves_nothing(
        client, oncologist, centre, today_fixed, field, value, message):
    client.force_login(oncologist)
    response = client.post(reverse("referrals:new"), referral_post(centre, **{field: value}))
    assert response.status_code == 400
    form_name, _, field_name = field.partition("-")
    form = response.context["forms"][form_name]
    assert field_name in form.errors, form.errors
    assert not Patient.objects.exists()
    assert not Referral.objects.exists()
    assert not LabResult.objects.exists()


def test_only_referring_oncologists_open_the_new_referral_form(client, navigator):
    client.force_login(navigator)
    assert client.get(reverse("referrals:new")).status_code == 403


@pytest.mark.parametrize(
    ("persona", "status"),
    [("oncologist", 200), ("specialist", 200), ("navigator", 200), ("oncologist2", 404),
     ("outside_specialist", 404), ("outside_navigator", 404), ("administrator", 404)],
)
def test_referral_page_access(client, request, patient, persona, status):
    referral = ReferralFactory(patient=patient, state=ReferralState.SUBMITTED)
    client.force_login(request.getfixturevalue(persona))
    url = reverse("referrals:detail", args=[referral.external_id])
    assert client.get(url).status_code == status
    action = client.post(reverse("referrals:action", args=[referral.external_id, "withdraw"]),
                         {"reason": "x"})
    note = client.post(reverse("referrals:note", args=[referral.external_id]), {"body": "hi"})
    if status == 404:
        assert action.status_code == 404
        assert note.status_code == 404
        assert Referral.objects.get().state == ReferralState.SUBMITTED
        assert not referral.notes.exists()


def test_specialist_sees_eligibility_findings_beside_the_referral(client, specialist, patient):
    from patients.services import imaging_add

    imaging_add(actor=specialist, patient=patient, modality="ga68_dotatate_pet",
                performed_on=dt.date(2020, 1, 1), sstr_positive=True, uptake_score=3)
    referral = ReferralFactory(patient=patient, state=ReferralState.UNDER_REVIEW)
    client.force_login(specialist)
    page = client.get(reverse("referrals:detail", args=[referral.external_id])).content.decode()
    assert "Eligibility findings" in page
    assert "ELIGIBILITY.SSTR_IMAGING_TOO_OLD" in page
    assert "Accept the referral" in page and "Decline the referral" in page
    assert AuditEvent.objects.filter(action="view", object_id=str(referral.external_id)).exists()


def test_referrer_does_not_see_specialist_actions(client, oncologist, patient):
    referral = ReferralFactory(patient=patient, state=ReferralState.UNDER_REVIEW)
    client.force_login(oncologist)
    page = client.get(reverse("referrals:detail", args=[referral.external_id])).content.decode()
    assert "Accept the referral" not in page
    assert "Withdraw the referral" in page


def test_wrong_role_and_wrong_state_show_a_message_and_change_nothing(client, oncologist,
                                                                    specialist, patient):
    referral = ReferralFactory(patient=patient, state=ReferralState.UNDER_REVIEW)
    client.force_login(oncologist)
    response = client.post(reverse("referrals:action", args=[referral.external_id, "accept"]),
                           follow=True)
    assert "Your role cannot accept the referral." in response.content.decode()
    client.force_login(specialist)
    response = client.post(reverse("referrals:action", args=[referral.external_id, "submit"]),
                           follow=True)
    assert "Cannot submit the referral: it is under review now." in response.content.decode()
    assert Referral.objects.get().state == ReferralState.UNDER_REVIEW


def test_request_info_then_answer_through_the_pages(client, oncologist, specialist, patient):
    referral = ReferralFactory(patient=patient, state=ReferralState.UNDER_REVIEW)
    url = reverse("referrals:action", args=[referral.external_id, "request_info"])
    client.force_login(specialist)
    client.post(url, {"reason": ""})
    assert Referral.objects.get().state == ReferralState.UNDER_REVIEW
    client.post(url, {"reason": "Please send the CT report."})
    assert Referral.objects.get().state == ReferralState.INFO_REQUESTED
    client.force_login(oncologist)
    client.post(reverse("referrals:action", args=[referral.external_id, "answer_info_request"]),
                {"reason": "CT attached: stable liver disease."})
    assert Referral.objects.get().state == ReferralState.SUBMITTED
    page = client.get(reverse("referrals:detail", args=[referral.external_id])).content.decode()
    assert "Please send the CT report." in page and "CT attached" in page


def _make_patients(n, centre, oncologist, state=ReferralState.SUBMITTED):
    for _ in range(n):
        ReferralFactory(patient=PatientFactory(centre=centre, referring_oncologist=oncologist),
                        state=state)


@pytest.mark.parametrize("persona,url", [
    ("oncologist", "/oncologist/"), ("specialist", "/specialist/"),
    ("specialist", "/referrals/inbox/"), ("navigator", "/referrals/inbox/"),
])
def test_list_pages_keep_a_constant_number_of_queries(client, request, centre, oncologist,
                                                       persona, url):
    def load():
        response = client.get(url)
        assert response.status_code == 200
        return response

    client.force_login(request.getfixturevalue(persona))
    _make_patients(3, centre, oncologist)
    response = assert_constant_queries(load, grow=lambda: _make_patients(27, centre, oncologist))
    assert response.content.decode().count('href="/referrals/') >= 30


def test_my_patients_shows_status_and_next_step(client, oncologist, oncologist2, centre):
    mine = PatientFactory(centre=centre, referring_oncologist=oncologist)
    ReferralFactory(patient=mine, state=ReferralState.INFO_REQUESTED)
    theirs = PatientFactory(centre=centre, referring_oncologist=oncologist2)
    ReferralFactory(patient=theirs, state=ReferralState.ACCEPTED)
    client.force_login(oncologist)
    page = client.get("/oncologist/").content.decode()
    assert mine.family_name in page
    assert "Answer the NET centre&#x27;s question." in page
    assert theirs.family_name not in page


def test_inbox_trays(client, specialist, centre, oncologist):
    for state in (ReferralState.SUBMITTED, ReferralState.INFO_REQUESTED, ReferralState.ACCEPTED,
                  ReferralState.DRAFT):
        ReferralFactory(patient=PatientFactory(centre=centre, referring_oncologist=oncologist,
                                               family_name=f"Tray{state}"), state=state)
    client.force_login(specialist)
    trays = client.get("/referrals/inbox/").context["trays"]
    assert [r.state for r in trays["new"]] == [ReferralState.SUBMITTED]
    assert [r.state for r in trays["awaiting_information"]] == [ReferralState.INFO_REQUESTED]
    assert [r.state for r in trays["accepted_awaiting_consult"]] == [ReferralState.ACCEPTED]
