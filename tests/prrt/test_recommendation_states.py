"""Failing safe on the cycle and approval pages and in the API (§4.5): no recommendation while the
decision panel is incomplete, "Manual review" above the recommendation, the timing warnings
beside the booking date; and the checks before cycle 1 (pregnancy, short-acting octreotide)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from netcare.workflow import TransitionInvalid
from patients.models import LabResult
from patients.services import lab_result_mark_in_error
from prrt import bookings, clinical, services
from prrt.injections import ssa_injection_record
from prrt.models import CycleDecision, CycleState
from tests.apiclient import API, client_for
from tests.prrt.builders import TZ, approved_course, at, enter_labs, give

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 22)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))


def course_for(centre, oncologist, specialist, first_dose=TODAY + 2 * DAY, **kwargs):
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=first_dose, **kwargs)


def cycle_page(client, user, cycle) -> str:
    client.force_login(user)
    response = client.get(reverse("prrt:cycle", args=[cycle.external_id]))
    assert response.status_code == 200
    return response.content.decode()


def refreshed(course, number=1, today=TODAY):
    services.course_refresh(course=course, today=today)
    return course.cycles.get(number=number)


# --- no recommendation while the panel is incomplete --------------------------------------


def test_no_labs_no_recommendation(client, centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist)
    cycle = refreshed(course)
    assert cycle.state == CycleState.PLANNED
    page = cycle_page(client, specialist, cycle)
    assert 'id="no-recommendation"' in page
    assert "No recommendation yet: missing platelets, haemoglobin, neutrophils" in page
    assert 'id="recommended-action"' not in page
    assert "PROCEED" not in page and "7.4 GBq" not in page


def test_one_missing_analyte_keeps_the_cycle_from_ready(client, centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist)
    enter_labs(specialist, course.patient, TODAY)
    neutrophils = LabResult.objects.get(analyte="neutrophils")
    assert refreshed(course).state == CycleState.READY
    lab_result_mark_in_error(actor=specialist, result=neutrophils, reason="Clotted sample.")
    cycle = refreshed(course)
    assert cycle.state == CycleState.PLANNED
    page = cycle_page(client, specialist, cycle)
    assert "No recommendation yet: missing neutrophils." in page
    assert 'id="recommended-action"' not in page


def test_missing_weight_is_named_and_keeps_the_cycle_from_ready(client, centre, oncologist,
                                                                specialist):
    course = course_for(centre, oncologist, specialist)
    course.patient.weight_kg = None
    course.patient.save()
    enter_labs(specialist, course.patient, TODAY)
    cycle = refreshed(course)
    assert cycle.state == CycleState.PLANNED
    assert "No recommendation yet: missing weight." in cycle.missing
    assert "No recommendation yet: missing weight." in cycle_page(client, specialist, cycle)


def test_low_albumin_needs_the_prothrombin_ratio(client, centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist)
    enter_labs(specialist, course.patient, TODAY, albumin=("28", "g/L"))
    cycle = refreshed(course)
    assert cycle.state == CycleState.PLANNED
    assert any("prothrombin ratio" in m for m in cycle.missing)
    LabResult.objects.create(patient=course.patient, analyte="prothrombin_ratio_percent",
                             value=Decimal(80), unit="%", collected_at=at(TODAY, 8),
                             entered_by=specialist)
    assert refreshed(course).state == CycleState.READY


def test_the_api_presents_no_action_while_incomplete(centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist)
    cycle = refreshed(course)
    response = client_for(specialist).get(f"{API}/cycles/{cycle.external_id}/recommendation/")
    assert response.status_code == 200
    body = response.json()
    rec = body["recommendation"]
    assert (rec["complete"], rec["action"], rec["activity_gbq"], rec["code"]) == (
        False, None, None, None)
    assert rec["missing_inputs"] == ["labs.platelets", "labs.hemoglobin", "labs.neutrophils",
                                     "labs.creatinine", "labs.bilirubin", "labs.albumin"]
    assert rec["reasons"][0].startswith("No recommendation yet: missing platelets")
    assert (rec["needs_review"], rec["warnings"]) == ([], [])
    assert body["readiness"]["ready"] is False
    enter_labs(specialist, course.patient, TODAY)
    rec = client_for(specialist).get(
        f"{API}/cycles/{cycle.external_id}/recommendation/").json()["recommendation"]
    assert (rec["complete"], rec["action"], rec["activity_gbq"], rec["missing_inputs"]) == (
        True, "PROCEED", 7.4, [])


def test_a_decision_without_a_recommendation_needs_a_reason(centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist)
    cycle = refreshed(course)
    with pytest.raises(TransitionInvalid) as error:
        services.cycle_decide(actor=specialist, cycle=cycle, decision="withhold",
                              categories=["thrombocytopenia"], today=TODAY)
    assert error.value.field == "reason"
    assert "No recommendation yet" in error.value.message
    record = services.cycle_decide(actor=specialist, cycle=cycle, decision="withhold",
                                   categories=["thrombocytopenia"], today=TODAY,
                                   reason="Platelets 40 by telephone from the practice.")
    assert (record.recommended_action, record.follows_recommendation) == ("NONE", False)
    assert record.recommendation["complete"] is False
    assert record.recommendation["action"] is None
    assert CycleDecision.objects.get().reason.startswith("Platelets 40")


# --- manual review ---------------------------------------------------------------------------


@pytest.fixture
def low_clearance_course(centre, oncologist, specialist):
    """M, 80 y, 50 kg, creatinine 1.1 mg/dL: CrCl 37.9 mL/min, the patient's baseline."""
    course = course_for(centre, oncologist, specialist, sex="M", weight="50",
                        born=dt.date(1946, 6, 1))
    enter_labs(specialist, course.patient, TODAY, creatinine=("1.1", "mg/dL"))
    return course


def test_manual_review_above_the_recommendation(client, specialist, low_clearance_course):
    cycle = refreshed(low_clearance_course)
    assert cycle.state == CycleState.READY  # complete: a person looks, the cycle is ready
    page = cycle_page(client, specialist, cycle)
    assert 'id="manual-review"' in page
    assert page.index("Manual review") < page.index('id="recommended-action">PROCEED<')
    assert "baseline creatinine clearance of 37.9 mL/min was already below 40" in page
    queue = client.get(reverse("prrt:approvals")).content.decode()
    assert reverse("prrt:cycle", args=[cycle.external_id]) in queue
    assert "Manual review" in queue


def test_manual_review_in_the_api(specialist, low_clearance_course):
    cycle = refreshed(low_clearance_course)
    body = client_for(specialist).get(f"{API}/cycles/{cycle.external_id}/recommendation/").json()
    rec = body["recommendation"]
    assert rec["complete"] is True and rec["action"] == "PROCEED"
    assert [item["code"] for item in rec["needs_review"]] == ["DOSE.RENAL.BASELINE_CRCL_BELOW_40"]
    assert any(w.startswith("Manual review") for w in body["readiness"]["warnings"])


def test_no_manual_review_when_nothing_needs_it(client, centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist)
    enter_labs(specialist, course.patient, TODAY)
    cycle = refreshed(course)
    page = cycle_page(client, specialist, cycle)
    assert 'id="recommended-action">PROCEED<' in page
    assert "Manual review" not in page
    assert "Manual review" not in client.get(reverse("prrt:approvals")).content.decode()


# --- the timing warnings beside the booking date ----------------------------------------------


def test_a_dose_booked_too_early_carries_a_warning(client, centre, oncologist, specialist,
                                                   navigator, django_capture_on_commit_callbacks):
    first = TODAY - 40 * DAY
    course = course_for(centre, oncologist, specialist, first_dose=first)
    enter_labs(specialist, course.patient, first - DAY)
    c1 = refreshed(course, today=first - DAY)
    services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                          activity_gbq=Decimal("7.4"), today=first - DAY)
    give(navigator, course.cycles.get(number=1), first)
    c2 = course.cycles.get(number=2)
    with django_capture_on_commit_callbacks(execute=True):  # the plan moves the planned day
        bookings.cycle_book(actor=navigator, cycle=c2, booked_date=first + 45 * DAY,
                            reason="The patient travels abroad the week after.")
    c2.refresh_from_db()
    assert c2.planned_date == first + 45 * DAY
    rec = clinical.recommendation_for(c2, today=TODAY).rendered
    assert [w["code"] for w in rec["warnings"]] == ["DOSE.TIMING.TOO_EARLY"]
    page = cycle_page(client, specialist, c2)
    planned = page[page.index('id="cycle-planned"'):]
    planned = planned[:planned.index("</p>")]
    assert "timing-warning" in planned and "45 days after the previous dose" in planned


# --- before cycle 1: pregnancy ----------------------------------------------------------------


def unknown_pregnancy(course):
    patient = course.patient
    patient.pregnancy, patient.pregnancy_stated_by = "", ""
    patient.save()
    return patient


def test_pregnancy_is_part_of_readiness_before_cycle_1(client, centre, oncologist, specialist,
                                                       django_capture_on_commit_callbacks):
    course = course_for(centre, oncologist, specialist)
    patient = unknown_pregnancy(course)
    enter_labs(specialist, patient, TODAY)
    cycle = refreshed(course)
    assert cycle.state == CycleState.PLANNED
    assert any("No pregnancy test result" in m for m in cycle.missing)
    client.force_login(specialist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("patients:labs-add", args=[patient.external_id]),
                               {"labs-collected_on": TODAY.isoformat(),
                                "labs-pregnancy_test": "negative"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.pregnancy, patient.pregnancy_tested_on, patient.pregnancy_recorded_by) == (
        "excluded", TODAY, specialist)
    assert course.cycles.get(number=1).state == CycleState.READY  # readiness followed at once
    page = client.get(reverse("patients:detail", args=[patient.external_id])).content.decode()
    assert "Pregnancy excluded (test of 22 Nov 2026)" in page


def test_a_positive_or_old_test_blocks_the_first_dose(centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist)
    patient = unknown_pregnancy(course)
    enter_labs(specialist, patient, TODAY)
    patient.pregnancy, patient.pregnancy_tested_on = "excluded", TODAY - 20 * DAY
    patient.save()
    cycle = refreshed(course)
    assert cycle.state == CycleState.PLANNED
    assert any("repeat it" in m for m in cycle.missing)
    patient.pregnancy, patient.pregnancy_tested_on = "positive", TODAY
    patient.save()
    assert any("must not be given" in m for m in refreshed(course).missing)


def test_not_applicable_needs_who_said_so(client, centre, oncologist, specialist,
                                          django_capture_on_commit_callbacks):
    course = course_for(centre, oncologist, specialist)
    patient = unknown_pregnancy(course)
    enter_labs(specialist, patient, TODAY)
    patient.pregnancy = "not_applicable"
    patient.save()
    cycle = refreshed(course)
    assert any("not who said so" in m for m in cycle.missing)
    client.force_login(specialist)
    url = reverse("patients:labs-add", args=[patient.external_id])
    response = client.post(url, {"labs-collected_on": TODAY.isoformat(),
                                 "labs-pregnancy_test": "not_applicable"})
    assert response.status_code == 400
    assert "Say who confirmed" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"labs-collected_on": TODAY.isoformat(),
                                     "labs-pregnancy_test": "not_applicable",
                                     "labs-pregnancy_stated_by": "Dr Okafor: hysterectomy 2019"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.pregnancy_stated_by == "Dr Okafor: hysterectomy 2019"
    assert course.cycles.get(number=1).state == CycleState.READY


def test_men_need_no_pregnancy_test(centre, oncologist, specialist):
    course = course_for(centre, oncologist, specialist, sex="M")
    unknown_pregnancy(course)
    enter_labs(specialist, course.patient, TODAY)
    assert refreshed(course).state == CycleState.READY


# --- short-acting octreotide from recorded doses ----------------------------------------------


def test_a_recorded_short_acting_dose_before_the_planned_day_keeps_it_from_ready(
        centre, oncologist, specialist, navigator, django_capture_on_commit_callbacks):
    """Checked from the recorded doses (octreotide s.c.) against the planned infusion moment."""
    course = course_for(centre, oncologist, specialist, first_dose=TODAY + DAY)
    enter_labs(specialist, course.patient, TODAY)
    assert refreshed(course).state == CycleState.READY
    # 09:00 today: 15 h before the start of tomorrow, the earliest the infusion can be. Recorded
    # without its readiness refresh yet: the decision itself checks the records too.
    ssa_injection_record(actor=navigator, patient=course.patient, agent="octreotide_sc",
                         given_at=dt.datetime(2026, 11, 22, 9, 0, tzinfo=TZ), dose_mg="0.1")
    cycle = course.cycles.get(number=1)
    assert cycle.state == CycleState.READY
    with pytest.raises(TransitionInvalid) as error:
        services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                              activity_gbq=Decimal("7.4"), today=TODAY)
    assert error.value.field == "decision"
    assert "15 h before the dose" in error.value.message
    cycle = refreshed(course)
    assert cycle.state == CycleState.PLANNED
    assert any("Short-acting octreotide was given 15 h before the dose" in m
               for m in cycle.missing)
    # Booked for 10:00 tomorrow: 25 h after the injection.
    with django_capture_on_commit_callbacks(execute=True):
        bookings.cycle_book(actor=navigator, cycle=cycle, booked_date=TODAY + DAY,
                            booked_time=dt.time(10, 0))
    assert course.cycles.get(number=1).state == CycleState.READY


def test_the_infusion_is_refused_within_24_h_of_a_recorded_dose(centre, oncologist, specialist,
                                                                 navigator):
    course = course_for(centre, oncologist, specialist, first_dose=TODAY)
    enter_labs(specialist, course.patient, TODAY - 2 * DAY)
    cycle = refreshed(course)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=TODAY)
    ssa_injection_record(actor=navigator, patient=course.patient, agent="octreotide_sc",
                         given_at=dt.datetime(2026, 11, 21, 13, 0, tzinfo=TZ))
    with pytest.raises(TransitionInvalid) as error:  # 08:00: 19 h later
        services.cycle_administer(actor=navigator, cycle=course.cycles.get(number=1),
                                  administered_at=at(TODAY, 8), activity_gbq=Decimal("7.4"),
                                  no_short_acting_ssa_24h=True)
    assert error.value.field == "no_short_acting_ssa_24h"
    assert "19 h before the dose" in error.value.message
    assert course.cycles.get(number=1).state == CycleState.APPROVED


def test_the_tick_box_stays_the_attestation_without_records(centre, oncologist, specialist,
                                                            navigator):
    course = course_for(centre, oncologist, specialist, first_dose=TODAY)
    enter_labs(specialist, course.patient, TODAY - 2 * DAY)
    cycle = refreshed(course)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=TODAY)
    with pytest.raises(TransitionInvalid) as error:
        services.cycle_administer(actor=navigator, cycle=course.cycles.get(number=1),
                                  administered_at=at(TODAY, 8), activity_gbq=Decimal("7.4"),
                                  no_short_acting_ssa_24h=False)
    assert error.value.field == "no_short_acting_ssa_24h"
    # A recorded dose 30 h before: the records show the interval is kept.
    ssa_injection_record(actor=navigator, patient=course.patient, agent="octreotide_sc",
                         given_at=dt.datetime(2026, 11, 21, 2, 0, tzinfo=TZ))
    administration = services.cycle_administer(
        actor=navigator, cycle=course.cycles.get(number=1), administered_at=at(TODAY, 8),
        activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True)
    assert administration.pk
