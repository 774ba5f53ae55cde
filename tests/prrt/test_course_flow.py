"""The worked examples of clinical-rules.md replayed through real records: labs entered,
readiness computed, the recommendation shown, the specialist's decision stored with its snapshot."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from patients.models import LabResult
from prrt import clinical, services
from prrt.models import CourseState, CycleDecision, CycleState
from referrals.models import ReferralState
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.django_db

C1 = dt.date(2025, 1, 6)
C2_DUE = dt.date(2025, 3, 3)


@pytest.fixture
def now_2025(time_machine):
    time_machine.move_to(dt.datetime(2025, 12, 31, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def course(centre, oncologist, specialist, now_2025):
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


def cycle(course, number):
    return course.cycles.get(number=number)


def test_cycle_1_becomes_ready_only_with_labs(course, specialist):
    c1 = cycle(course, 1)
    services.cycle_refresh(cycle=c1, today=C1 - dt.timedelta(days=3))
    c1.refresh_from_db()
    assert c1.state == CycleState.PLANNED
    assert any("Pre-dose labs" in m for m in c1.missing)
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=3))
    c1 = services.cycle_refresh(cycle=c1, today=C1 - dt.timedelta(days=3))
    assert c1.state == CycleState.READY


def test_labs_outside_the_window_do_not_count(course, specialist):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=15))
    c1 = services.cycle_refresh(cycle=cycle(course, 1), today=C1 - dt.timedelta(days=1))
    assert c1.state == CycleState.PLANNED


def run_to_cycle_2(course, specialist, navigator):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = services.cycle_refresh(cycle=cycle(course, 1), today=C1 - dt.timedelta(days=2))
    services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                          activity_gbq=Decimal("7.4"), today=C1 - dt.timedelta(days=1))
    give(navigator, cycle(course, 1), C1)
    services.course_refresh(course=course, today=C1 + dt.timedelta(days=8))


def test_v1_cycle_1_proceeds_and_the_snapshot_is_kept(course, specialist):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = services.cycle_refresh(cycle=cycle(course, 1), today=C1 - dt.timedelta(days=2))
    rec = clinical.recommendation_for(c1, today=C1 - dt.timedelta(days=1))
    assert rec.decision.action == "PROCEED"
    assert rec.rendered["crcl_ml_min"] == 69.6
    decision = services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                                     activity_gbq=Decimal("7.4"), today=C1 - dt.timedelta(days=1))
    assert decision.follows_recommendation
    assert decision.labs_snapshot["platelets"]["value"] == "210"
    # A later correction of the labs does not change what was approved.
    LabResult.objects.filter(analyte="platelets").update(value=Decimal("50"))
    decision.refresh_from_db()
    assert decision.labs_snapshot["platelets"]["value"] == "210"
    assert decision.recommendation["action"] == "PROCEED"
    course.refresh_from_db()
    assert course.baseline["creatinine"] == {"value": "0.9000", "unit": "mg/dL"}


def test_v8_v9_v10_withhold_resume_reduced_reescalate(course, specialist, navigator):
    run_to_cycle_2(course, specialist, navigator)
    c2 = cycle(course, 2)
    assert c2.due_date == C2_DUE
    # V8: platelets 74 before C2 -> WITHHOLD (thrombocytopenia)
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=3),
               platelets=("74", "10^9/L"))
    c2 = services.cycle_refresh(cycle=c2, today=C2_DUE - dt.timedelta(days=3))
    assert c2.state == CycleState.READY
    rec = clinical.recommendation_for(c2, today=C2_DUE)
    assert rec.decision.action == "WITHHOLD"
    decision = services.cycle_decide(actor=specialist, cycle=c2, decision="withhold",
                                     today=C2_DUE)
    assert decision.categories == ["thrombocytopenia"] and decision.follows_recommendation
    c2.refresh_from_db()
    assert c2.state == CycleState.WITHHELD
    # V9: platelets 98 on 2025-03-24 -> RESUME_REDUCED 3.7, 21 days late
    v9 = dt.date(2025, 3, 24)
    # Rebooked on v9 (written directly: "now" is later than the worked example's dates).
    type(c2).objects.filter(pk=c2.pk).update(booked_date=v9, booked_at=timezone.now())
    enter_labs(specialist, course.patient, v9, platelets=("98", "10^9/L"))
    c2 = services.cycle_refresh(cycle=c2, today=v9)
    assert c2.state == CycleState.READY
    rec = clinical.recommendation_for(c2, today=v9)
    assert (rec.decision.action, rec.decision.activity_gbq) == ("RESUME_REDUCED", Decimal("3.7"))
    assert rec.decision.delay_days == 21
    services.cycle_decide(actor=specialist, cycle=c2, decision="approve",
                          activity_gbq=Decimal("3.7"), today=v9)
    give(navigator, cycle(course, 2), v9, activity="3.7")
    history = clinical.course_history(course)
    assert history.occurred == {"thrombocytopenia"} and history.withheld == set()
    assert history.cumulative_activity_gbq == Decimal("11.1")
    # V10: before C3, platelets 88 -> REESCALATE 7.4
    c3 = cycle(course, 3)
    assert c3.due_date == v9 + dt.timedelta(days=56)
    services.course_refresh(course=course, today=v9 + dt.timedelta(days=8))
    enter_labs(specialist, course.patient, c3.due_date - dt.timedelta(days=2),
               platelets=("88", "10^9/L"))
    rec = clinical.recommendation_for(c3, today=c3.due_date)
    assert (rec.decision.action, rec.decision.activity_gbq) == ("REESCALATE", Decimal("7.4"))


def test_v11_recurrence_discontinues_the_course(course, specialist, navigator):
    run_to_cycle_2(course, specialist, navigator)
    c2 = cycle(course, 2)
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=3),
               platelets=("74", "10^9/L"))
    services.cycle_refresh(cycle=c2, today=C2_DUE - dt.timedelta(days=3))
    services.cycle_decide(actor=specialist, cycle=c2, decision="withhold", today=C2_DUE)
    v9 = dt.date(2025, 3, 24)
    type(c2).objects.filter(pk=c2.pk).update(booked_date=v9, booked_at=timezone.now())
    enter_labs(specialist, course.patient, v9, platelets=("98", "10^9/L"))
    services.cycle_refresh(cycle=c2, today=v9)
    services.cycle_decide(actor=specialist, cycle=cycle(course, 2), decision="approve",
                          activity_gbq=Decimal("3.7"), today=v9)
    give(navigator, cycle(course, 2), v9, activity="3.7")
    c3 = cycle(course, 3)
    services.course_refresh(course=course, today=v9 + dt.timedelta(days=8))
    enter_labs(specialist, course.patient, c3.due_date - dt.timedelta(days=2),
               platelets=("70", "10^9/L"))
    rec = clinical.recommendation_for(cycle(course, 3), today=c3.due_date)
    assert rec.decision.action == "DISCONTINUE"
    services.cycle_decide(actor=specialist, cycle=cycle(course, 3), decision="discontinue",
                          today=c3.due_date)
    course.refresh_from_db()
    assert course.state == CourseState.DISCONTINUED
    assert set(course.cycles.values_list("state", flat=True)) >= {CycleState.CANCELLED}
    # The patient is referred back with the course letter, by a person (coordinators.letters).
    course.referral.refresh_from_db()
    assert course.referral.state == ReferralState.IN_TREATMENT


@pytest.mark.parametrize(("day", "action"), [(dt.date(2025, 6, 22), "WITHHOLD"),
                                             (dt.date(2025, 6, 23), "DISCONTINUE")])
def test_v12_sixteen_weeks_from_the_due_date(course, specialist, navigator, day, action):
    run_to_cycle_2(course, specialist, navigator)
    c2 = cycle(course, 2)
    type(c2).objects.filter(pk=c2.pk).update(planned_date=day)
    enter_labs(specialist, course.patient, day, platelets=("60", "10^9/L"))
    rec = clinical.recommendation_for(cycle(course, 2), today=day)
    assert rec.decision.action == action


def test_a_decision_against_the_recommendation_needs_a_reason(course, specialist, navigator):
    run_to_cycle_2(course, specialist, navigator)
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=3),
               platelets=("74", "10^9/L"))
    c2 = services.cycle_refresh(cycle=cycle(course, 2), today=C2_DUE - dt.timedelta(days=3))
    with pytest.raises(TransitionInvalid) as exc:
        services.cycle_decide(actor=specialist, cycle=c2, decision="approve",
                              activity_gbq=Decimal("7.4"), today=C2_DUE)
    assert exc.value.field == "reason"
    assert cycle(course, 2).state == CycleState.READY
    decision = services.cycle_decide(actor=specialist, cycle=c2, decision="approve",
                                     activity_gbq=Decimal("3.7"), today=C2_DUE,
                                     reason="Platelets rising; MDT agreed a reduced dose.")
    assert decision.follows_recommendation is False
    assert cycle(course, 2).state == CycleState.APPROVED


def test_only_a_specialist_of_the_centre_decides(course, navigator, outside_specialist,
                                                 specialist):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = services.cycle_refresh(cycle=cycle(course, 1), today=C1 - dt.timedelta(days=2))
    for actor in (navigator, outside_specialist):
        with pytest.raises(TransitionForbidden):
            services.cycle_decide(actor=actor, cycle=c1, decision="approve",
                                  activity_gbq=Decimal("7.4"), today=C1)
    assert not CycleDecision.objects.exists()
    assert cycle(course, 1).state == CycleState.READY


def test_nothing_approves_itself(course, specialist):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    for _ in range(3):
        services.course_refresh(course=course, today=C1)
    assert cycle(course, 1).state == CycleState.READY
    with pytest.raises(TransitionConflict):
        services.cycle_administer(actor=specialist, cycle=cycle(course, 1),
                                  administered_at=dt.datetime(2025, 1, 6, 10, tzinfo=dt.UTC),
                                  activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True)


def test_v18_hypersensitivity_discontinues(course, specialist, navigator):
    run_to_cycle_2(course, specialist, navigator)
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=3))
    c2 = services.cycle_refresh(cycle=cycle(course, 2), today=C2_DUE - dt.timedelta(days=3))
    services.cycle_decide(actor=specialist, cycle=c2, decision="approve",
                          activity_gbq=Decimal("7.4"), today=C2_DUE)
    give(navigator, cycle(course, 2), C2_DUE, infusion_reaction_grade=3,
         reaction_is_hypersensitivity=True)
    course.refresh_from_db()
    assert course.state == CourseState.DISCONTINUED
    assert "hypersensitivity" in course.ended_reason
    assert list(course.cycles.filter(number__gt=2).values_list("state", flat=True)) == [
        CycleState.CANCELLED, CycleState.CANCELLED]


def test_lar_outside_4_24_hours_is_a_warning(course, specialist, navigator):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = services.cycle_refresh(cycle=cycle(course, 1), today=C1 - dt.timedelta(days=2))
    services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                          activity_gbq=Decimal("7.4"), today=C1)
    from tests.prrt.builders import at

    administration = services.cycle_administer(
        actor=navigator, cycle=cycle(course, 1), administered_at=at(C1, 10),
        activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True, lar_injected_at=at(C1, 12))
    assert any("2.0 h" in w for w in administration.warnings)


def test_four_cycles_complete_the_course_as_the_systems_act(course, specialist, navigator):
    day = C1
    for number in range(1, 5):
        enter_labs(specialist, course.patient, day - dt.timedelta(days=2))
        c = services.cycle_refresh(cycle=cycle(course, number), today=day - dt.timedelta(days=2))
        assert c.state == CycleState.READY, c.missing
        services.cycle_decide(actor=specialist, cycle=c, decision="approve",
                              activity_gbq=Decimal("7.4"), today=day)
        give(navigator, cycle(course, number), day)
        services.course_refresh(course=course, today=day + dt.timedelta(days=8))
        day = day + dt.timedelta(days=56)
    course.refresh_from_db()
    assert course.state == CourseState.COMPLETED
    completed = course.events.get(transition="complete", cycle__isnull=True)
    assert completed.actor is None  # NETcare completed it, no person
    # The referral back is a person's act, with the course letter: not done by itself.
    course.referral.refresh_from_db()
    assert course.referral.state == ReferralState.IN_TREATMENT
