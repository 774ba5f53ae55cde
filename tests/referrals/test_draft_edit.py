"""The performance status in the new-referral form, and a draft referral edited in all its
parts until it is submitted (then the information-request loop takes over)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from netcare.models import AuditEvent
from patients.models import ImagingStudy, LabResult, Patient, PerformanceStatus, TumourProfile
from referrals.models import Referral, ReferralState
from tests.referrals.test_pages import referral_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC), tick=False)


PS = {"performance-scale": "karnofsky", "performance-value": "80",
      "performance-assessed_on": "2026-11-18", "performance-assessed_by": "Dr Okafor"}


def draft(client, oncologist, centre, **overrides) -> Referral:
    client.force_login(oncologist)
    data = referral_post(centre, **PS, **overrides)
    del data["submit"]
    data["draft"] = "1"
    response = client.post(reverse("referrals:new"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Referral.objects.get()


# --- the new-referral form ----------------------------------------------------------------------


def test_a_new_referral_records_the_performance_status(client, oncologist, centre):
    referral = draft(client, oncologist, centre)
    ps = PerformanceStatus.objects.get(patient=referral.patient)
    assert (ps.scale, ps.value, ps.assessed_on, ps.assessed_by, ps.entered_by) == (
        "karnofsky", 80, dt.date(2026, 11, 18), "Dr Okafor", oncologist)


def test_the_performance_status_may_be_left_out(client, oncologist, centre):
    client.force_login(oncologist)
    assert client.post(reverse("referrals:new"), referral_post(centre)).status_code == 302
    assert not PerformanceStatus.objects.exists()


@pytest.mark.parametrize(("overrides", "field"), [
    ({"performance-value": "75"}, "value"),
    ({"performance-scale": "ecog", "performance-value": "5"}, "value"),
    ({"performance-assessed_by": ""}, "assessed_by"),
    ({"performance-assessed_on": "2026-11-30"}, "assessed_on"),
])
def test_a_bad_performance_status_saves_nothing(client, oncologist, centre, overrides, field):
    client.force_login(oncologist)
    response = client.post(reverse("referrals:new"), referral_post(centre, **{**PS, **overrides}))
    assert response.status_code == 400
    assert field in response.context["forms"]["performance"].errors
    assert not Patient.objects.exists() and not Referral.objects.exists()


# --- editing the draft ----------------------------------------------------------------------


def edit_post(centre, **overrides):
    data = referral_post(centre, **PS)
    for key in ("referral-centre", "submit"):
        data.pop(key)
    data["draft"] = "1"
    data.update(overrides)
    return data


def test_the_draft_form_shows_what_was_saved(client, oncologist, centre):
    referral = draft(client, oncologist, centre)
    response = client.get(reverse("referrals:edit", args=[referral.external_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="Maya"' in html and 'value="210"' in html and 'value="Dr Okafor"' in html
    assert 'value="2026-10-01"' in html  # the scan date
    assert "PRRT candidate?" in html
    detail = client.get(reverse("referrals:detail", args=[referral.external_id]))
    assert "Change the draft" in detail.content.decode()


def test_every_part_of_the_draft_can_be_changed_and_nothing_is_lost(client, oncologist,
                                                                    centre):
    referral = draft(client, oncologist, centre)
    patient = referral.patient
    old_platelets = LabResult.objects.get(analyte="platelets")
    response = client.post(reverse("referrals:edit", args=[referral.external_id]), edit_post(
        centre, **{"patient-family_name": "Moorlande", "tumour-ki67_percent": "12",
                   "imaging-performed_on": "2026-10-05", "labs-platelets_value": "190",
                   "labs-creatinine_value": "", "performance-value": "70",
                   "referral-question": "PRRT now, or after the CT?",
                   "referral-urgency": "urgent"}))
    assert response.status_code == 302, response.content.decode()[:3000]
    referral.refresh_from_db()
    patient.refresh_from_db()
    assert referral.state == ReferralState.DRAFT
    assert (referral.question, referral.urgency) == ("PRRT now, or after the CT?", "urgent")
    assert patient.family_name == "Moorlande"
    assert TumourProfile.objects.get(patient=patient).ki67_percent == Decimal("12")
    assert ImagingStudy.objects.get(patient=patient).performed_on == dt.date(2026, 10, 5)
    assert PerformanceStatus.objects.get(patient=patient).value == 70
    # The changed lab is kept, marked in error; the removed one too; the new value is added.
    old_platelets.refresh_from_db()
    assert old_platelets.entered_in_error
    assert old_platelets.error_reason == "Corrected in the draft referral."
    creatinine = LabResult.objects.get(analyte="creatinine")
    assert creatinine.entered_in_error and creatinine.error_reason == \
        "Removed from the draft referral."
    current = LabResult.objects.filter(patient=patient, entered_in_error=False)
    assert current.get(analyte="platelets").value == Decimal("190")
    assert not current.filter(analyte="creatinine").exists()
    assert current.get(analyte="hemoglobin").pk  # unchanged: not re-entered
    assert LabResult.objects.filter(analyte="hemoglobin").count() == 1
    # Every correction is audited with before and after.
    changes = {e.object_type: e.changes for e in AuditEvent.objects.filter(action="update")
               if e.object_type in ("patients.Patient", "patients.ImagingStudy",
                                    "patients.PerformanceStatus", "referrals.Referral")}
    assert changes["patients.Patient"]["family_name"] == ["Moorland", "Moorlande"]
    assert changes["patients.ImagingStudy"]["performed_on"] == ["2026-10-01", "2026-10-05"]
    assert changes["patients.PerformanceStatus"]["value"] == [80, 70]
    assert changes["referrals.Referral"]["urgency"] == ["routine", "urgent"]


def test_the_draft_can_be_submitted_from_the_form(client, oncologist, centre):
    referral = draft(client, oncologist, centre)
    data = edit_post(centre)
    del data["draft"]
    data["submit"] = "1"
    response = client.post(reverse("referrals:edit", args=[referral.external_id]), data)
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.state == ReferralState.SUBMITTED
    assert not LabResult.objects.filter(entered_in_error=True).exists()  # nothing changed


@pytest.mark.parametrize(("overrides", "form", "field"), [
    ({"labs-platelets_value": "-5"}, "labs", "platelets_value"),
    ({"patient-date_of_birth": "2030-01-01"}, "patient", "date_of_birth"),
    ({"referral-question": ""}, "referral", "question"),
    ({"performance-value": ""}, "performance", "value"),
    ({"imaging-performed_on": "2026-12-30"}, "imaging", "performed_on"),
])
def test_a_bad_change_is_a_form_error_and_nothing_is_saved(client, oncologist, centre,
                                                           overrides, form, field):
    referral = draft(client, oncologist, centre)
    changes = AuditEvent.objects.exclude(action="view").count()
    response = client.post(reverse("referrals:edit", args=[referral.external_id]), edit_post(
        centre, **{"patient-family_name": "Changed", **overrides}))
    assert response.status_code == 400
    assert field in response.context["forms"][form].errors
    assert Patient.objects.get().family_name == "Moorland"
    assert not LabResult.objects.filter(entered_in_error=True).exists()
    assert AuditEvent.objects.exclude(action="view").count() == changes


def test_a_submitted_referral_is_changed_through_the_information_request(client, oncologist,
                                                                         centre):
    referral = draft(client, oncologist, centre)
    Referral.objects.filter(pk=referral.pk).update(state=ReferralState.SUBMITTED)
    url = reverse("referrals:edit", args=[referral.external_id])
    response = client.get(url, follow=True)
    assert "changes now go through the centre&#x27;s questions" in response.content.decode()
    client.post(url, edit_post(centre, **{"patient-family_name": "Changed"}))
    assert Patient.objects.get().family_name == "Moorland"
    detail = client.get(reverse("referrals:detail", args=[referral.external_id]))
    assert "Change the draft" not in detail.content.decode()


def test_only_its_referring_oncologist_edits_a_draft(client, oncologist, oncologist2,
                                                     specialist, centre):
    referral = draft(client, oncologist, centre)
    url = reverse("referrals:edit", args=[referral.external_id])
    client.force_login(oncologist2)
    assert client.get(url).status_code == 404
    assert client.post(url, edit_post(centre)).status_code == 404
    client.force_login(specialist)
    assert client.get(url).status_code == 403
    assert Patient.objects.get().family_name == "Moorland"
