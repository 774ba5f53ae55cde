"""The case summary NETcare pre-fills from the record, against a seeded record: a course with
cycle 1 given and cycle 2 withheld for platelets of 74; the SSTR scan's age in months and its
limit at their boundaries; and only what the record holds."""

from __future__ import annotations

import datetime as dt

import pytest

from network.mdt_summary import case_summary, months_since
from patients.services import imaging_add
from prrt import services
from prrt.injections import ssa_injection_record
from tests.coordinators.letter_builders import C1, C2_DUE, WITHHOLD_REASON, move, started_course
from tests.factories import PatientFactory
from tests.prrt.builders import at, enter_labs

D = dt.date


@pytest.mark.parametrize(("day", "today", "months"), [
    (D(2024, 11, 7), D(2024, 11, 7), 0),
    (D(2024, 11, 7), D(2024, 12, 6), 0),
    (D(2024, 11, 7), D(2024, 12, 7), 1),
    (D(2024, 11, 7), D(2025, 3, 6), 3),
    (D(2024, 11, 7), D(2025, 3, 7), 4),
    (D(2025, 1, 31), D(2025, 2, 27), 0),
    (D(2025, 1, 31), D(2025, 2, 28), 1),  # as rules.add_months counts a month from the 31st
    (D(2024, 2, 29), D(2025, 2, 28), 12),
    (D(2025, 3, 7), D(2025, 3, 6), 0),  # a scan dated after today is not negative months old
])
def test_months_since(day, today, months):
    assert months_since(day, today) == months


@pytest.fixture
def record(centre, oncologist, specialist, navigator, time_machine):
    """Cycle 1 given at 7.4 GBq on C1; platelets 74 three days before cycle 2's day, which is
    withheld on it; one lanreotide injection recorded before the course."""
    course = started_course(centre=centre, oncologist=oncologist, specialist=specialist,
                            navigator=navigator, time_machine=time_machine)
    ssa_injection_record(actor=navigator, patient=course.patient, agent="lanreotide",
                         given_at=at(C1 - dt.timedelta(days=45), 11))
    move(time_machine, C2_DUE)
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=3),
               platelets=("74", "10^9/L"))
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=2), today=C2_DUE)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="withhold",
                          categories=["thrombocytopenia"], reason=WITHHOLD_REASON,
                          today=C2_DUE)
    return course


@pytest.mark.django_db
def test_the_summary_of_a_seeded_record(record):
    summary = case_summary(record.patient, C2_DUE)
    assert summary["as_of"] == "2025-03-03"
    assert summary["age_years"] == 62 and summary["sex"] == "Female"
    tumour = summary["tumour"]
    assert (tumour["primary_site"], tumour["differentiation"], tumour["who_grade"],
            tumour["ki67_percent"], tumour["functional_syndrome"]) == (
        "Small bowel", "Well differentiated", "G2", "4", "Non-functioning")
    assert any("Ki-67" in reason for reason in tumour["grade_reasons"])
    assert "mitoses_per_2mm2" not in tumour and "stage" not in tumour  # not in the record
    # The PET 60 days before cycle 1: 3 whole months old on 3 March, within the 6-month limit.
    assert summary["sstr_imaging"] == {
        "modality": "[68Ga]Ga-DOTA-TATE PET", "performed_on": "2024-11-07", "age_months": 3,
        "older_than_limit": False, "limit_months": 6, "sstr_positive": True,
        "krenning_score": 3}
    labs = {lab["analyte"]: lab for lab in summary["labs"]}
    assert labs["platelets"]["value"] == "74 ×10⁹/L"
    assert labs["platelets"]["ctcae_grade"] == 2
    assert labs["platelets"]["collected_on"] == "2025-02-28"
    assert labs["bilirubin"]["ctcae_grade"] == 0
    assert labs["bilirubin"]["range"].startswith("ULN 1.2")
    assert "ctcae_grade" not in labs["creatinine"]  # no ULN to grade it by, as on the page
    assert set(labs) == {"platelets", "hemoglobin", "neutrophils", "creatinine", "bilirubin",
                         "albumin"}
    ssa = summary["ssa"]
    assert ssa["progression_on_ssa"] is True
    assert ssa["injections_recorded"] == 1
    assert ssa["first_injection_on"] == "2024-11-22"
    assert ssa["last_injection"] == {"agent": "Lanreotide (long-acting)", "on": "2024-11-22"}
    [course] = summary["prrt"]
    assert (course["course"], course["state"], course["cycles_given"]) == (
        str(record.external_id), "Active", 1)
    assert course["doses"] == [{"cycle": 1, "on": "2025-01-06", "activity_gbq": "7.4"}]
    assert course["cumulative_activity_gbq"] == "7.4"
    assert course["withholds"] == [{"cycle": 2, "on": "2025-03-03",
                                    "categories": ["thrombocytopenia"],
                                    "reason": WITHHOLD_REASON}]


@pytest.mark.django_db
def test_the_summary_reads_the_record_as_it_stood(record):
    """On the day before the withhold and the latest labs, neither is in it."""
    summary = case_summary(record.patient, C2_DUE - dt.timedelta(days=4))
    assert summary["prrt"][0]["withholds"] == []
    labs = {lab["analyte"]: lab for lab in summary["labs"]}
    assert labs["platelets"]["value"] == "210 ×10⁹/L"


@pytest.mark.django_db
@pytest.mark.parametrize(("performed_on", "older"), [
    (D(2024, 9, 3), False),  # six months to the day before 3 March 2025
    (D(2024, 9, 2), True),
])
def test_the_scan_age_limit_at_its_boundary(centre, specialist, time_machine, performed_on,
                                            older):
    move(time_machine, C2_DUE)
    patient = PatientFactory(centre=centre)
    imaging_add(actor=specialist, patient=patient, modality="ga68_dotatate_pet",
                performed_on=performed_on, sstr_positive=True, uptake_score=4)
    sstr = case_summary(patient, C2_DUE)["sstr_imaging"]
    assert sstr["older_than_limit"] is older
    assert sstr["age_months"] == 6  # whole months; the limit is by the day, as the rules


@pytest.mark.django_db
def test_what_the_record_does_not_hold_is_left_out(centre):
    patient = PatientFactory(centre=centre)
    summary = case_summary(patient, C2_DUE)
    assert set(summary) == {"as_of", "age_years", "sex", "ssa"}
    assert summary["ssa"] == {"current": "None"}
