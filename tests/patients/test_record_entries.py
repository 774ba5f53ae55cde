"""Completing and correcting the record from the patient page: performance status, a lab result
marked in error, the primary oncologist (an access grant) and the centre's reference ranges.
Each entry with good input, and bad input that is a form error with nothing saved."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from netcare.models import AuditEvent, Notification, Role
from patients import records
from patients.labview import lab_rows
from patients.models import LabResult, PerformanceStatus, ReferenceRange
from patients.ranges import CentreRanges, reference_range_save
from patients.services import lab_result_add, patient_update, performance_status_add
from prrt.clinical import rules_config
from tests.apiclient import API, client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(NOW, tick=False)


def detail(patient) -> str:
    return reverse("patients:detail", args=[patient.external_id])


def add_lab(actor, patient, analyte="platelets", value="210", unit="10^9/L", days_ago=2,
            **limits) -> LabResult:
    return lab_result_add(actor=actor, patient=patient, analyte=analyte, value=value, unit=unit,
                          collected_at=NOW - dt.timedelta(days=days_ago), **limits)


# --- performance status -----------------------------------------------------------------------


def ps_post(**overrides):
    data = {"ps-scale": "ecog", "ps-value": "1", "ps-assessed_on": "2026-11-20",
            "ps-assessed_by": "Dr Hale, clinic visit"}
    data.update(overrides)
    return data


@pytest.mark.parametrize(("scale", "value"), [("ecog", "0"), ("ecog", "4"),
                                              ("karnofsky", "0"), ("karnofsky", "100")])
def test_performance_status_is_recorded_with_its_date_and_assessor(client, navigator, patient,
                                                                   scale, value):
    client.force_login(navigator)
    response = client.post(reverse("patients:performance-status-add",
                                   args=[patient.external_id]),
                           ps_post(**{"ps-scale": scale, "ps-value": value}))
    assert response.status_code == 302
    assert response["Location"].endswith("#performance")
    ps = PerformanceStatus.objects.get()
    assert (ps.scale, ps.value, ps.assessed_on, ps.assessed_by, ps.entered_by) == (
        scale, int(value), dt.date(2026, 11, 20), "Dr Hale, clinic visit", navigator)
    assert AuditEvent.objects.filter(action="create", object_type="patients.PerformanceStatus",
                                     patient_id=patient.external_id).exists()
    page = client.get(detail(patient)).content.decode()
    assert "Dr Hale, clinic visit" in page and "20 Nov 2026" in page


@pytest.mark.parametrize(("field", "value", "error"), [
    ("ps-value", "5", "ECOG is a whole number 0-4."),
    ("ps-value", "-1", "Ensure this value is greater than or equal to 0."),
    ("ps-value", "two", "Enter a whole number."),
    ("ps-scale", "zubrod",
     "Select a valid choice. zubrod is not one of the available choices."),
    ("ps-assessed_on", "2026-11-23", "The assessment date is in the future."),
    ("ps-assessed_on", "", "This field is required."),
    ("ps-assessed_by", "", "This field is required."),
])
def test_bad_performance_status_is_a_form_error_and_nothing_is_saved(
        client, navigator, patient, field, value, error):
    client.force_login(navigator)
    response = client.post(reverse("patients:performance-status-add",
                                   args=[patient.external_id]), ps_post(**{field: value}))
    assert response.status_code == 400
    assert response.context["ps_form"].errors[field.removeprefix("ps-")] == [error]
    assert error.replace("'", "&#x27;") in response.content.decode()
    assert not PerformanceStatus.objects.exists()


def test_karnofsky_goes_in_steps_of_ten(client, specialist, patient):
    client.force_login(specialist)
    response = client.post(reverse("patients:performance-status-add",
                                   args=[patient.external_id]),
                           ps_post(**{"ps-scale": "karnofsky", "ps-value": "75"}))
    assert response.status_code == 400
    assert response.context["ps_form"].errors["value"] == ["Karnofsky is 0-100 in steps of 10."]
    assert not PerformanceStatus.objects.exists()


def test_outsiders_cannot_record_a_performance_status(client, oncologist2, patient):
    client.force_login(oncologist2)
    response = client.post(reverse("patients:performance-status-add",
                                   args=[patient.external_id]), ps_post())
    assert response.status_code == 404
    assert not PerformanceStatus.objects.exists()


def test_the_api_checks_performance_status_the_same_way(patient, navigator):
    url = f"{API}/patients/{patient.external_id}/performance-status/"
    client = client_for(navigator)
    refused = client.post(url, {"scale": "ecog", "value": 5, "assessed_on": "2026-11-20"},
                          format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["value"]
    created = client.post(url, {"scale": "karnofsky", "value": 80, "assessed_on": "2026-11-20",
                                "assessed_by": "Dr Hale"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["assessed_by"] == "Dr Hale"


def test_the_eligibility_review_reads_the_latest_assessment_before_its_day(patient, navigator):
    def add(scale, value, day):
        performance_status_add(actor=navigator, patient=patient, scale=scale, value=value,
                               assessed_on=day, assessed_by="Dr Hale")

    add("karnofsky", 50, dt.date(2026, 6, 1))
    add("ecog", 1, dt.date(2026, 11, 1))
    add("ecog", 3, dt.date(2026, 11, 20))

    def performance(today):
        inp = records.eligibility_input(records.load_records(patient, today=today), today=today)
        return inp.karnofsky, inp.ecog

    # The old Karnofsky score does not stand beside the newer ECOG; an assessment after the
    # day evaluated for does not count yet.
    assert performance(dt.date(2026, 11, 10)) == (None, 1)
    assert performance(dt.date(2026, 11, 21)) == (None, 3)
    assert performance(dt.date(2026, 7, 1)) == (50, None)
    codes = {f.code for f in records.eligibility_for(patient, today=dt.date(2026, 11, 21))}
    assert "ELIGIBILITY.ECOG_HIGH" in codes


# --- a lab result marked in error -------------------------------------------------------------


def test_a_lab_marked_in_error_is_struck_through_and_leaves_the_trend_and_the_rules(
        client, navigator, specialist, patient, django_capture_on_commit_callbacks):
    old = add_lab(navigator, patient, value="190", days_ago=6)
    wrong = add_lab(navigator, patient, value="21", days_ago=1)
    before = records.load_records(patient, today=TODAY).latest_labs["platelets"]
    assert before == wrong
    client.force_login(specialist)
    url = reverse("patients:lab-in-error", args=[patient.external_id, wrong.external_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {f"err-{wrong.external_id}-reason":
                                     "Clotted sample; value impossible"})
    assert response.status_code == 302
    assert response["Location"].endswith("#lab-results")
    wrong.refresh_from_db()
    assert (wrong.entered_in_error, wrong.error_reason, wrong.marked_in_error_by) == (
        True, "Clotted sample; value impossible", specialist)
    assert wrong.marked_in_error_at == NOW
    # The rules' input is the previous result again.
    assert records.load_records(patient, today=TODAY).latest_labs["platelets"] == old
    inp = records.eligibility_input(records.load_records(patient, today=TODAY), today=TODAY)
    assert inp.labs.platelets.canonical == 190
    # Audited with the values before and after; nothing deleted.
    change = AuditEvent.objects.get(action="update", object_id=str(wrong.external_id))
    assert change.changes["entered_in_error"] == [False, True]
    assert change.changes["error_reason"] == ["", "Clotted sample; value impossible"]
    assert LabResult.objects.count() == 2
    page = client.get(detail(patient))
    html = page.content.decode()
    assert "<del>21 ×10⁹/L</del>" in html
    assert "Clotted sample; value impossible" in html
    row = next(r for r in page.context["lab_rows"] if r.analyte == "platelets")
    assert (row.latest, row.trend) == (old, "")  # one valid result left: no trend


def test_marking_in_error_needs_a_reason_and_changes_nothing_without_one(client, navigator,
                                                                        patient):
    lab = add_lab(navigator, patient)
    client.force_login(navigator)
    url = reverse("patients:lab-in-error", args=[patient.external_id, lab.external_id])
    response = client.post(url, {f"err-{lab.external_id}-reason": "   "})
    assert response.status_code == 400
    assert "Say why the result is in error." in response.content.decode() or \
        "This field is required." in response.content.decode()
    lab.refresh_from_db()
    assert not lab.entered_in_error
    assert not AuditEvent.objects.filter(action="update").exists()


def test_a_result_already_in_error_cannot_be_marked_again(client, navigator, patient):
    lab = add_lab(navigator, patient)
    client.force_login(navigator)
    url = reverse("patients:lab-in-error", args=[patient.external_id, lab.external_id])
    client.post(url, {f"err-{lab.external_id}-reason": "Wrong patient"})
    response = client.post(url, {f"err-{lab.external_id}-reason": "Again"})
    assert response.status_code == 400
    assert "already marked in error" in response.content.decode()
    lab.refresh_from_db()
    assert lab.error_reason == "Wrong patient"


def test_an_outsider_cannot_mark_a_lab_in_error(client, oncologist2, navigator, patient):
    lab = add_lab(navigator, patient)
    client.force_login(oncologist2)
    response = client.post(reverse("patients:lab-in-error",
                                   args=[patient.external_id, lab.external_id]),
                           {f"err-{lab.external_id}-reason": "No"})
    assert response.status_code == 404
    lab.refresh_from_db()
    assert not lab.entered_in_error


# --- the primary oncologist: an access grant --------------------------------------------------


def test_the_centre_team_sets_the_primary_oncologist_audited_and_told(
        client, navigator, specialist, oncologist, oncologist2, patient,
        django_capture_on_commit_callbacks):
    client.force_login(navigator)
    url = reverse("patients:primary-oncologist", args=[patient.external_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"primary-primary_oncologist": str(oncologist2.pk)})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.primary_oncologist == oncologist2
    grant = AuditEvent.objects.get(note__startswith="Access granted")
    assert grant.actor == navigator and grant.patient_id == patient.external_id
    assert grant.changes == {"primary_oncologist": [None, str(oncologist2.external_id)]}
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    assert told == {"specialist", "oncologist", "oncologist2"}  # not the navigator who acted
    # The new oncologist now sees the record.
    client.force_login(oncologist2)
    assert client.get(detail(patient)).status_code == 200


def test_the_referring_oncologist_cannot_grant_access(client, oncologist, oncologist2, patient):
    client.force_login(oncologist)
    url = reverse("patients:primary-oncologist", args=[patient.external_id])
    assert client.post(url, {"primary-primary_oncologist": str(oncologist2.pk)}
                       ).status_code == 403
    assert "primary-primary_oncologist" not in client.get(detail(patient)).content.decode()
    patient.refresh_from_db()
    assert patient.primary_oncologist is None


def test_only_an_active_referring_oncologist_can_be_chosen(client, navigator, specialist,
                                                           patient):
    retired = UserFactory(role=Role.REFERRING_ONCOLOGIST, is_active=False)
    client.force_login(navigator)
    url = reverse("patients:primary-oncologist", args=[patient.external_id])
    for choice in (retired, specialist):
        response = client.post(url, {"primary-primary_oncologist": str(choice.pk)})
        assert response.status_code == 400
        assert "primary_oncologist" in response.context["oncologist_form"].errors
    patient.refresh_from_db()
    assert patient.primary_oncologist is None
    assert not AuditEvent.objects.filter(action="update").exists()


def test_the_api_limits_the_grant_to_the_centre_team(patient, oncologist, oncologist2,
                                                     navigator):
    url = f"{API}/patients/{patient.external_id}/"
    body = {"primary_oncologist": str(oncologist2.external_id)}
    refused = client_for(oncologist).patch(url, body, format="json")
    assert refused.status_code == 403
    patient.refresh_from_db()
    assert patient.primary_oncologist is None
    # The referrer may still change other details, and send the unchanged oncologist back.
    ok = client_for(oncologist).patch(url, {"phone": "+44 20 7946 0001",
                                            "primary_oncologist": None}, format="json")
    assert ok.status_code == 200, ok.json()
    granted = client_for(navigator).patch(url, body, format="json")
    assert granted.status_code == 200
    assert AuditEvent.objects.filter(note__startswith="Access granted").count() == 1


def test_the_service_refuses_an_inactive_oncologist(patient, navigator):
    retired = UserFactory(role=Role.REFERRING_ONCOLOGIST, is_active=False)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        patient_update(actor=navigator, patient=patient, data={"primary_oncologist": retired})
    assert list(error.value.message_dict) == ["primary_oncologist"]


# --- the centre's reference ranges ------------------------------------------------------------


def range_post(**overrides):
    data = {"analyte": "creatinine", "unit": "umol/L", "lln": "45", "uln": "90",
            "laboratory": "Riverside Pathology"}
    data.update(overrides)
    return data


@pytest.mark.parametrize("persona", ["navigator", "specialist"])
def test_the_centre_team_keeps_its_reference_ranges(client, request, centre, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = reverse("patients:reference-ranges")
    page = client.get(url)
    assert page.status_code == 200
    # Reached from the main menu of every page.
    assert f'<a href="{url}">Reference ranges</a>' in page.content.decode()
    response = client.post(url, range_post())
    assert response.status_code == 302
    kept = ReferenceRange.objects.get()
    assert (kept.centre, kept.analyte, kept.unit, kept.lln, kept.uln, kept.laboratory,
            kept.updated_by) == (centre, "creatinine", "umol/L", Decimal("45"), Decimal("90"),
                                 "Riverside Pathology", user)
    # The same analyte and unit again changes it, audited with before and after.
    assert client.post(url, range_post(uln="110")).status_code == 302
    kept.refresh_from_db()
    assert kept.uln == Decimal("110") and ReferenceRange.objects.count() == 1
    change = AuditEvent.objects.get(action="update", object_type="patients.ReferenceRange")
    assert change.changes == {"uln": ["90.0000", "110.0000"]}
    page = client.get(url).content.decode()
    assert "Riverside Pathology" in page and "110" in page


@pytest.mark.parametrize(("overrides", "field"), [
    ({"uln": "", "lln": ""}, "uln"),
    ({"lln": "95"}, "lln"),
    ({"uln": "abc"}, "uln"),
    ({"uln": "-3"}, "uln"),
    ({"uln": "99999"}, "uln"),
    ({"unit": "g/L"}, "unit"),
    ({"laboratory": ""}, "laboratory"),
    ({"analyte": "bilirubin", "unit": "umol/L", "uln": "900", "lln": ""}, "uln"),
])
def test_a_bad_range_is_a_form_error_and_nothing_is_saved(client, navigator, overrides, field):
    client.force_login(navigator)
    response = client.post(reverse("patients:reference-ranges"), range_post(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not ReferenceRange.objects.exists()


def test_others_cannot_change_a_centres_ranges(client, oncologist, outside_navigator, centre,
                                               navigator):
    client.force_login(oncologist)
    assert client.post(reverse("patients:reference-ranges"), range_post()).status_code == 403
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        reference_range_save(actor=outside_navigator, centre=centre, **range_post())
    assert not ReferenceRange.objects.exists()


def test_a_spelling_of_the_same_unit_changes_the_same_range(navigator, centre):
    first = reference_range_save(actor=navigator, centre=centre, **range_post())
    again = reference_range_save(actor=navigator, centre=centre, **range_post(unit="µmol/L",
                                                                                uln="100"))
    assert again.pk == first.pk and ReferenceRange.objects.count() == 1
    assert CentreRanges.of(centre.pk).limits("creatinine", "μmol/L").uln == Decimal("100")


def test_a_result_without_limits_is_graded_with_the_centres_range(navigator, centre, patient):
    lab = add_lab(navigator, patient, analyte="creatinine", value="200", unit="umol/L")
    config = rules_config(centre)
    (row,) = lab_rows([lab], config, CentreRanges.of(centre.pk))
    assert row.grade is None  # no ULN anywhere: creatinine cannot be graded
    reference_range_save(actor=navigator, centre=centre, **range_post())
    (row,) = lab_rows([lab], config, CentreRanges.of(centre.pk))
    assert row.grade == 2  # 200 / 90 = 2.2 × ULN
    assert row.range_text == "LLN 45, ULN 90 µmol/L (Riverside Pathology)"
    # A result's own limit wins over the centre's.
    own = add_lab(navigator, patient, analyte="creatinine", value="200", unit="umol/L",
                  uln="150", days_ago=1)
    (row,) = lab_rows([own, lab], config, CentreRanges.of(centre.pk))
    assert row.grade == 1 and row.limits.uln_source == "result"
    assert row.limits.lln_source == "centre"  # the limit it lacks is the centre's


def test_the_lab_table_shows_the_range_beside_the_value(client, navigator, centre, patient):
    reference_range_save(actor=navigator, centre=centre, **range_post())
    add_lab(navigator, patient, analyte="creatinine", value="200", unit="umol/L")
    client.force_login(navigator)
    html = client.get(detail(patient)).content.decode()
    assert 'data-source="centre">LLN 45, ULN 90 µmol/L (Riverside Pathology)</td>' in html
    assert "Grade 2" in html


def test_the_centres_uln_lets_a_bilirubin_be_typed_without_its_own(client, navigator, centre,
                                                                   patient):
    client.force_login(navigator)
    url = reverse("patients:labs-add", args=[patient.external_id])
    data = {"labs-collected_on": "2026-11-20", "labs-bilirubin_value": "0.6",
            "labs-bilirubin_unit": "mg/dL"}
    response = client.post(url, data)
    assert response.status_code == 400  # no ULN given and none kept by the centre
    assert not LabResult.objects.exists()
    reference_range_save(actor=navigator, centre=centre, analyte="bilirubin", unit="mg/dL",
                         uln="1.2", laboratory="Riverside Pathology")
    assert client.post(url, data).status_code == 302
    lab = LabResult.objects.get()
    assert lab.uln is None  # the result keeps what was typed; the centre's ULN reads it
    inp = records.eligibility_input(records.load_records(patient, today=TODAY), today=TODAY)
    assert inp.labs.bilirubin.uln == Decimal("1.2")


def test_administrators_edit_ranges_in_the_admin_site_audited_never_deleted(
        client, administrator, centre):
    client.force_login(administrator)
    add = reverse("admin:patients_referencerange_add")
    refused = client.post(add, {"centre": centre.pk, "analyte": "creatinine", "unit": "umol/L",
                                "lln": "95", "uln": "90", "laboratory": "Riverside Pathology"})
    assert refused.status_code == 200 and not ReferenceRange.objects.exists()
    response = client.post(add, {"centre": centre.pk, "analyte": "creatinine", "unit": "umol/L",
                                 "lln": "45", "uln": "90", "laboratory": "Riverside Pathology"})
    assert response.status_code == 302, response.content.decode()[:2000]
    kept = ReferenceRange.objects.get()
    assert kept.updated_by == administrator
    change = reverse("admin:patients_referencerange_change", args=[kept.pk])
    client.post(change, {"centre": centre.pk, "analyte": "creatinine", "unit": "umol/L",
                         "lln": "45", "uln": "100", "laboratory": "Riverside Pathology"})
    kept.refresh_from_db()
    assert kept.uln == Decimal("100")
    assert AuditEvent.objects.get(action="update", object_type="patients.ReferenceRange"
                                  ).changes == {"uln": ["90.0000", "100.0000"]}
    delete = reverse("admin:patients_referencerange_delete", args=[kept.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ReferenceRange.objects.count() == 1
