"""Eligibility as a checklist: every Table 1 criterion with its value, date and source, passed
or not, evaluated on the records as they stood on the decision's day, stored with the decision
and shown unchanged on the finished referral whatever changes in the record afterwards."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

import rules
from patients import records
from patients.models import LabResult
from patients.services import (
    imaging_add,
    lab_result_add,
    lab_result_mark_in_error,
    patient_update,
    performance_status_add,
    tumour_profile_save,
)
from prrt import services
from referrals.models import ReferralState
from rules.eligibility import eligibility_checklist
from tests.factories import PatientFactory, ReferralFactory
from tests.prrt.builders import at

pytestmark = pytest.mark.django_db

DECIDED_ON = dt.date(2026, 11, 20)
FIRST_DOSE = dt.date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC), tick=False)


def candidate(centre, oncologist, specialist):
    patient = PatientFactory(centre=centre, referring_oncologist=oncologist, sex="M",
                             weight_kg=Decimal("72"), date_of_birth=dt.date(1960, 3, 1),
                             progression_on_ssa=True,
                             last_long_acting_ssa_on=dt.date(2026, 10, 20))
    tumour_profile_save(actor=specialist, patient=patient, data={
        "primary_site": "small_bowel", "differentiation": "well", "ki67_percent": "4"})
    imaging_add(actor=specialist, patient=patient, modality="ga68_dotatate_pet",
                performed_on=dt.date(2026, 10, 1), sstr_positive=True, uptake_score=3)
    for analyte, value, unit, uln in (("platelets", "180", "10^9/L", None),
                                      ("hemoglobin", "128", "g/L", None),
                                      ("white_cells", "5.4", "10^9/L", None),
                                      ("albumin", "40", "g/L", None),
                                      ("creatinine", "0.9", "mg/dL", None),
                                      ("bilirubin", "0.5", "mg/dL", "1.2")):
        lab_result_add(actor=specialist, patient=patient, analyte=analyte, value=value,
                       unit=unit, uln=uln, collected_at=at(dt.date(2026, 11, 16), 8))
    performance_status_add(actor=specialist, patient=patient, scale="ecog", value=1,
                           assessed_on=dt.date(2026, 11, 16), assessed_by="Dr Hale")
    return patient


@pytest.fixture
def decided(centre, oncologist, specialist):
    patient = candidate(centre, oncologist, specialist)
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    course = services.course_open(actor=specialist, referral=referral,
                                  planned_first_dose=FIRST_DOSE)
    services.course_decide_eligibility(actor=specialist, course=course, approve=True,
                                       reason="Eligible after MDT.", today=DECIDED_ON)
    course.refresh_from_db()
    return course


def by_code(checklist) -> dict:
    return {c["code"].removeprefix("ELIGIBILITY."): c for c in checklist["criteria"]}


def test_the_decision_stores_every_criterion_with_value_date_and_source(decided):
    checklist = decided.eligibility_checklist
    assert (checklist["evaluated_on"], checklist["first_dose"]) == ("2026-11-20", "2026-12-07")
    criteria = by_code(checklist)
    assert list(criteria) == [
        "SSTR_POSITIVE", "GRADE_G1_G2", "KI67", "GEP_PRIMARY", "METASTATIC_OR_UNRESECTABLE",
        "PROGRESSION_ON_SSA", "PREGNANCY_EXCLUDED", "HEMOGLOBIN", "WHITE_CELLS", "PLATELETS",
        "ALBUMIN", "BILIRUBIN", "CRCL", "PERFORMANCE_STATUS", "NO_EXTENSIVE_LIVER_DISEASE",
        "NO_EXTENSIVE_BONE_DISEASE", "SSA_WASHOUT"]
    platelets = criteria["PLATELETS"]
    assert (platelets["passed"], platelets["value"]) == (True, "180 ×10⁹/L")
    (source,) = platelets["sources"]
    assert source["date"] == "2026-11-16"
    assert source["source"].startswith("Lab result entered by")
    assert source["lab_id"] == str(LabResult.objects.get(analyte="platelets").external_id)
    assert criteria["SSTR_POSITIVE"]["passed"] is True
    assert criteria["SSTR_POSITIVE"]["sources"][0]["date"] == "2026-10-01"
    ps = criteria["PERFORMANCE_STATUS"]
    assert (ps["passed"], ps["value"], ps["sources"][0]["source"]) == (
        True, "ECOG 1", "Assessed by Dr Hale")
    assert criteria["CRCL"]["passed"] is True and "mL/min" in criteria["CRCL"]["value"]
    assert criteria["PREGNANCY_EXCLUDED"]["value"] == "Not applicable (male)"
    assert criteria["NO_EXTENSIVE_LIVER_DISEASE"]["passed"] is None  # not assessed
    # The findings are stored as before, each inside its criterion.
    assert sorted(f["code"] for f in decided.eligibility_findings) == sorted(
        f["code"] for c in checklist["criteria"] for f in c["findings"])


def test_the_stored_evaluation_is_unchanged_after_the_record_changes(decided, specialist,
                                                                     navigator, client):
    stored = decided.eligibility_checklist
    patient = decided.patient
    lab_result_add(actor=specialist, patient=patient, analyte="platelets", value="60",
                   unit="10^9/L", collected_at=at(dt.date(2026, 11, 21), 8))
    performance_status_add(actor=specialist, patient=patient, scale="ecog", value=3,
                           assessed_on=dt.date(2026, 11, 21), assessed_by="Dr Hale")
    patient_update(actor=navigator, patient=patient, data={"weight_kg": Decimal("50")})
    decided.refresh_from_db()
    assert decided.eligibility_checklist == stored
    # Evaluated now, the record says otherwise...
    live = by_code(records.eligibility_review(patient, today=dt.date(2026, 11, 22),
                                              planned_first_dose=FIRST_DOSE).checklist)
    assert live["PLATELETS"]["passed"] is False and live["PERFORMANCE_STATUS"]["passed"] is False
    # ...but the finished referral shows the evaluation that was decided on.
    client.force_login(specialist)
    page = client.get(reverse("referrals:detail", args=[decided.referral.external_id]))
    html = page.content.decode()
    assert page.context["checklist_decided"] is True
    assert page.context["checklist"] == stored
    assert "As decided" in html and "180 ×10⁹/L" in html and "60 ×10⁹/L" not in html
    assert "ECOG 1" in html and "ECOG 3" not in html


def test_the_referrer_sees_the_evaluation_decided_on_too(decided, oncologist, client):
    client.force_login(oncologist)
    html = client.get(reverse("referrals:detail",
                              args=[decided.referral.external_id])).content.decode()
    assert "As decided" in html and 'data-criterion="ELIGIBILITY.PLATELETS"' in html


def test_the_review_is_evaluated_at_its_day(centre, oncologist, specialist):
    patient = candidate(centre, oncologist, specialist)
    # On 15 Nov the labs and the assessment of 16 Nov did not exist yet.
    early = by_code(records.eligibility_review(patient, today=dt.date(2026, 11, 15),
                                               planned_first_dose=FIRST_DOSE).checklist)
    assert early["PLATELETS"]["passed"] is None and early["PLATELETS"]["sources"] == []
    assert early["PERFORMANCE_STATUS"]["value"] == "Not recorded"
    later = by_code(records.eligibility_review(patient, today=dt.date(2026, 11, 20),
                                               planned_first_dose=FIRST_DOSE).checklist)
    assert later["PLATELETS"]["passed"] is True


def test_before_a_decision_the_centre_sees_the_checklist_for_the_planned_first_dose(
        centre, oncologist, specialist, client):
    patient = candidate(centre, oncologist, specialist)
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    client.force_login(specialist)
    page = client.get(reverse("referrals:detail", args=[referral.external_id]))
    assert page.context["checklist"]["first_dose"] == "2026-11-22"  # no course: today
    services.course_open(actor=specialist, referral=referral, planned_first_dose=FIRST_DOSE)
    page = client.get(reverse("referrals:detail", args=[referral.external_id]))
    assert page.context["checklist_decided"] is False
    assert page.context["checklist"]["first_dose"] == "2026-12-07"
    assert "Eligibility findings" in page.content.decode()


def test_a_lab_used_in_the_decision_and_marked_in_error_is_flagged(decided, navigator,
                                                                   specialist, client):
    platelets = LabResult.objects.get(analyte="platelets")
    lab_result_mark_in_error(actor=navigator, result=platelets, reason="Wrong patient's tube")
    client.force_login(specialist)
    html = client.get(reverse("referrals:detail",
                              args=[decided.referral.external_id])).content.decode()
    assert "A lab used here was marked in error on 22 Nov 2026" in html
    assert "Wrong patient&#x27;s tube" in html


@pytest.mark.parametrize("overrides", [
    {},
    {"differentiation": "poor", "karnofsky": 50, "ecog": 3},
    {"sstr_imaging": None, "patient": None, "pregnancy": "positive",
     "extensive_liver_disease": True, "extensive_bone_disease": False,
     "last_long_acting_ssa": dt.date(2024, 12, 20), "progression_on_ssa": False,
     "gep_primary": False, "metastatic_or_unresectable": None},
    {"labs": rules.Labs(), "ki67_percent": 30, "differentiation": "well"},
])
def test_every_finding_belongs_to_exactly_one_criterion(overrides):
    values = {
        "planned_first_dose": dt.date(2025, 1, 6),
        "sstr_imaging": rules.SstrImaging(dt.date(2024, 11, 20), True),
        "differentiation": "well", "ki67_percent": 8, "gep_primary": True,
        "metastatic_or_unresectable": True, "progression_on_ssa": True,
        "patient": rules.Patient("F", 62, 68), "pregnancy": "excluded",
        "labs": rules.Labs(platelets=rules.lab_value("platelets", 60, "10^9/L"),
                           creatinine=rules.lab_value("creatinine", "2.5", "mg/dL"),
                           bilirubin=rules.lab_value("bilirubin", "4", "mg/dL", uln="1.2")),
        "karnofsky": 80,
    }
    inp = rules.EligibilityInput(**{**values, **overrides})
    today = dt.date(2025, 1, 2)
    findings = rules.eligibility_findings(inp, today)
    checklist = eligibility_checklist(inp, today)
    held = [f for criterion in checklist for f in criterion.findings]
    assert sorted(f.code for f in held) == sorted(f.code for f in findings)
    for criterion in checklist:
        serious = any(f.severity in (rules.Severity.BLOCK, rules.Severity.REVIEW)
                      for f in criterion.findings)
        if serious:
            assert criterion.passed is not True, criterion
        if criterion.passed is True:
            assert not serious


def test_the_course_page_shows_the_checklist_the_specialist_decides_on_and_then_keeps_it(
        centre, oncologist, specialist, client):
    patient = candidate(centre, oncologist, specialist)
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    course = services.course_open(actor=specialist, referral=referral,
                                  planned_first_dose=FIRST_DOSE)
    client.force_login(specialist)
    url = reverse("prrt:course", args=[course.external_id])
    html = client.get(url).content.decode()
    # Before the decision: every criterion, passed ones with their numbers, for the first dose.
    assert 'data-criterion="ELIGIBILITY.PLATELETS" data-passed="yes"' in html
    assert "180 ×10⁹/L" in html and "ECOG 1" in html
    assert "for a first dose on 2026-12-07" in html and "As decided" not in html
    response = client.post(reverse("prrt:course-eligibility", args=[course.external_id]), {
        "decision": "approve", "reason": "Eligible after MDT discussion.",
        "labs_drawn_by": "practice", "lar_during_course_by": "centre",
        "lar_after_course_by": "practice"})
    assert response.status_code == 302
    # After it, the stored evaluation, whatever the record says later.
    lab_result_add(actor=specialist, patient=patient, analyte="platelets", value="60",
                   unit="10^9/L", uln=None, collected_at=at(dt.date(2026, 11, 21), 8))
    html = client.get(url).content.decode()
    assert "As decided" in html and "180 ×10⁹/L" in html and "60 ×10⁹/L" not in html
