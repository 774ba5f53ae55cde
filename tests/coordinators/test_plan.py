"""The plan as CareTasks: V19 to the day, owners per the responsibility agreement, and re-sync
(delay, new date, discontinue, completion by the records) moving tasks in place, never twice."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

import rules
from coordinators import services
from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from coordinators.plan import PlannedTask, move_out_of_precaution_windows, plan_sync
from prrt import services as prrt_services
from prrt.bookings import cycle_book
from prrt.models import Cycle, CycleState, Responsible
from tests.coordinators.conftest import C1
from tests.prrt.builders import enter_labs, give

pytestmark = pytest.mark.django_db

D = dt.date


def tasks(course, **filters) -> dict[tuple[str, int, int], CareTask]:
    return {(t.kind, t.cycle, t.sequence): t
            for t in CareTask.objects.filter(course=course, **filters)}


def dates(task: CareTask) -> tuple[dt.date, dt.date, dt.date]:
    return (task.earliest, task.due, task.latest)


def test_v19_plan_is_materialised_to_the_day(course):
    result = plan_sync(course=course, today=D(2024, 12, 17))
    plan = tasks(course)
    assert result.created == len(plan)
    infusions = [plan[(TaskKind.INFUSION, n, 1)].due for n in range(1, 5)]
    assert infusions == [D(2025, 1, 6), D(2025, 3, 3), D(2025, 4, 28), D(2025, 6, 23)]
    assert dates(plan[(TaskKind.INFUSION, 2, 1)]) == (D(2025, 2, 24), D(2025, 3, 3),
                                                     D(2025, 3, 10))
    assert plan[(TaskKind.POST_COURSE_LABS, 0, 1)].due == D(2025, 7, 28)
    # No routine bloods 06-23 -> 06-30: the window closes the check-in of cycle 4.
    assert dates(plan[(TaskKind.RADIATION_SAFETY_EDUCATION, 4, 1)]) == (D(2025, 6, 23),) * 3
    assert dates(plan[(TaskKind.RADIATION_SAFETY_CHECKIN, 4, 1)]) == (
        D(2025, 6, 24), D(2025, 6, 25), D(2025, 6, 30))
    assert plan[(TaskKind.SSTR_PET, 0, 1)].earliest == D(2025, 9, 23)
    lar = sorted(t.due for k, t in plan.items() if k[0] == TaskKind.LAR_MAINTENANCE)
    assert lar[0] == D(2025, 7, 21) and lar[-1] == D(2026, 6, 22)
    assert all(b - a == dt.timedelta(days=28) for a, b in zip(lar, lar[1:], strict=False))
    assert lar[-1] + dt.timedelta(days=28) > D(2026, 7, 6)  # every 4 weeks to 2026-07-06
    imaging = [plan[(TaskKind.IMAGING, 0, n)].due for n in range(1, 7)]
    assert imaging == [D(2025, 4, 6), D(2025, 7, 6), D(2025, 10, 6), D(2026, 1, 6),
                       D(2026, 4, 6), D(2026, 7, 6)]
    # The referral back waits until every dose is given (then a week after the last window).
    assert (TaskKind.REFERRAL_FOLLOW_UP, 0, 1) not in plan


def test_every_rules_event_has_its_task_with_the_same_dates(course):
    plan_sync(course=course, today=D(2024, 12, 17))
    plan = tasks(course)
    events = rules.course_plan(C1)
    mapped = {rules.EventKind.SSA_WASHOUT: TaskKind.SSA_WASHOUT_CHECK,
              rules.EventKind.PRE_DOSE_LABS: TaskKind.PRE_DOSE_LABS,
              rules.EventKind.INFUSION: TaskKind.INFUSION,
              rules.EventKind.LAR_INJECTION: TaskKind.LAR_INJECTION,
              rules.EventKind.POST_COURSE_LABS: TaskKind.POST_COURSE_LABS,
              rules.EventKind.SSTR_PET: TaskKind.SSTR_PET}
    for event in events:
        if event.kind in mapped:
            task = plan[(mapped[event.kind], event.cycle or 0, 1)]
            assert dates(task) == (event.earliest, event.due, event.latest), event
    # 4 cycles x 6 kinds + 6 scans + post-course labs + PET + 13 LAR
    assert Counter(k[0] for k in plan) == {
        TaskKind.SSA_WASHOUT_CHECK: 4, TaskKind.PRE_DOSE_LABS: 4, TaskKind.INFUSION: 4,
        TaskKind.LAR_INJECTION: 4, TaskKind.RADIATION_SAFETY_EDUCATION: 4,
        TaskKind.RADIATION_SAFETY_CHECKIN: 4, TaskKind.IMAGING: 6,
        TaskKind.POST_COURSE_LABS: 1, TaskKind.SSTR_PET: 1, TaskKind.LAR_MAINTENANCE: 13}


def test_owners_follow_the_responsibility_agreement(course):
    type(course).objects.filter(pk=course.pk).update(
        labs_drawn_by=Responsible.CENTRE, lar_during_course_by=Responsible.PRACTICE,
        lar_after_course_by=Responsible.PRACTICE)
    plan_sync(course=course, today=D(2024, 12, 17))
    plan = tasks(course)
    assert plan[(TaskKind.PRE_DOSE_LABS, 2, 1)].owner_party == OwnerParty.CENTRE
    assert plan[(TaskKind.LAR_INJECTION, 2, 1)].owner_party == OwnerParty.PRACTICE
    assert plan[(TaskKind.LAR_MAINTENANCE, 0, 1)].owner_party == OwnerParty.PRACTICE
    assert plan[(TaskKind.INFUSION, 2, 1)].owner_party == OwnerParty.CENTRE


def test_default_agreement_labs_at_the_practice(course):
    plan_sync(course=course, today=D(2024, 12, 17))
    plan = tasks(course)
    assert plan[(TaskKind.PRE_DOSE_LABS, 1, 1)].owner_party == OwnerParty.PRACTICE
    assert plan[(TaskKind.POST_COURSE_LABS, 0, 1)].owner_party == OwnerParty.PRACTICE
    assert plan[(TaskKind.LAR_INJECTION, 1, 1)].owner_party == OwnerParty.CENTRE


def test_sync_twice_changes_nothing(course):
    plan_sync(course=course, today=D(2024, 12, 17))
    again = plan_sync(course=course, today=D(2024, 12, 17))
    assert (again.created, again.moved, again.cancelled, again.reminders_created,
            again.reminders_moved, again.reminders_cancelled) == (0, 0, 0, 0, 0, 0)


def test_approval_materialises_the_plan_on_commit(centre, oncologist, specialist, navigator,
                                                  before_c1, django_capture_on_commit_callbacks):
    from tests.prrt.builders import approved_course

    with django_capture_on_commit_callbacks(execute=True):
        course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                                 first_dose=C1)
    assert CareTask.objects.filter(course=course, kind=TaskKind.INFUSION).count() == 4


def run_cycle_1(course, specialist, navigator, time_machine):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                     today=C1 - dt.timedelta(days=2))
    prrt_services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                               activity_gbq=Decimal("7.4"), today=C1 - dt.timedelta(days=1))
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
    give(navigator, course.cycles.get(number=1), C1)


def test_withheld_cycle_moves_the_right_tasks_and_duplicates_nothing(
        course, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    plan_sync(course=course, today=D(2024, 12, 17))
    before = tasks(course)
    with django_capture_on_commit_callbacks(execute=True):
        run_cycle_1(course, specialist, navigator, time_machine)
    after_c1 = tasks(course)
    assert after_c1[(TaskKind.INFUSION, 1, 1)].state == TaskState.DONE
    assert after_c1[(TaskKind.LAR_INJECTION, 1, 1)].state == TaskState.DONE
    labs_c2 = after_c1[(TaskKind.PRE_DOSE_LABS, 2, 1)]
    services.task_complete(actor=navigator, task=labs_c2,
                           done_at=dt.datetime(2025, 1, 6, 17, tzinfo=dt.UTC), value="drawn")

    # Low platelets before cycle 2: the specialist withholds it on its due day.
    time_machine.move_to(dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False)
    enter_labs(specialist, course.patient, D(2025, 2, 27), platelets=("60", "10^9/L"))
    c2 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=2), today=D(2025, 3, 3))
    with django_capture_on_commit_callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c2, decision="withhold",
                                   categories=["thrombocytopenia"], today=D(2025, 3, 3),
                                   reason="Platelets 60.")
    assert Cycle.objects.get(pk=c2.pk).state == CycleState.WITHHELD
    after = tasks(course)
    # The same keys, so nothing was duplicated, plus the navigator's task to rebook cycle 2 and
    # its labs asked for again before the new day.
    assert set(after) == set(before) | {(TaskKind.REBOOK_CYCLE, 2, 1),
                                        (TaskKind.PRE_DOSE_LABS, 2, 2)}
    assert CareTask.objects.filter(course=course).count() == len(before) + 2
    assert dates(after[(TaskKind.PRE_DOSE_LABS, 2, 2)]) == (D(2025, 3, 3), D(2025, 3, 10),
                                                           D(2025, 3, 17))
    assert dates(after[(TaskKind.REBOOK_CYCLE, 2, 1)]) == (D(2025, 3, 17), D(2025, 3, 17),
                                                          D(2025, 3, 24))
    # Cycle 2 is expected two weeks after the withhold; everything after it moves with it.
    assert dates(after[(TaskKind.INFUSION, 2, 1)]) == (D(2025, 3, 17),) * 3
    assert after[(TaskKind.INFUSION, 3, 1)].due == D(2025, 5, 12)
    assert after[(TaskKind.INFUSION, 4, 1)].due == D(2025, 7, 7)
    assert after[(TaskKind.POST_COURSE_LABS, 0, 1)].due == D(2025, 8, 11)
    assert after[(TaskKind.LAR_INJECTION, 2, 1)].due == D(2025, 3, 17)
    # The washout before cycle 3 was met from the start (the last long-acting injection is the
    # LAR after cycle 1), so NETcare closed it and it keeps its dates.
    assert after[(TaskKind.SSA_WASHOUT_CHECK, 3, 1)].state == TaskState.DONE
    assert after[(TaskKind.SSA_WASHOUT_CHECK, 3, 1)].done_by is None
    # Open tasks moved in place (same rows); done tasks never change.
    for key in [(TaskKind.INFUSION, 2, 1), (TaskKind.INFUSION, 4, 1)]:
        assert after[key].pk == before[key].pk
    assert after[(TaskKind.PRE_DOSE_LABS, 2, 1)].state == TaskState.DONE
    assert dates(after[(TaskKind.PRE_DOSE_LABS, 2, 1)]) == dates(labs_c2)
    assert dates(after[(TaskKind.INFUSION, 1, 1)]) == (C1,) * 3
    # Imaging counts from the first dose: it does not move.
    assert after[(TaskKind.IMAGING, 0, 1)].due == D(2025, 4, 6)


def test_a_new_infusion_date_moves_its_tasks(course, specialist, navigator, time_machine,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_cycle_1(course, specialist, navigator, time_machine)
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=course.cycles.get(number=2),
                   booked_date=D(2025, 3, 7))
    assert course.cycles.get(number=2).planned_date == D(2025, 3, 7)
    plan = tasks(course)
    assert plan[(TaskKind.INFUSION, 2, 1)].due == D(2025, 3, 7)
    assert plan[(TaskKind.PRE_DOSE_LABS, 2, 1)].due == D(2025, 2, 28)
    assert plan[(TaskKind.INFUSION, 3, 1)].due == D(2025, 5, 2)


def test_discontinued_course_cancels_what_is_no_longer_needed(
        course, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_cycle_1(course, specialist, navigator, time_machine)
    time_machine.move_to(dt.datetime(2025, 2, 20, 9, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        prrt_services.course_discontinue(actor=specialist, course=course,
                                         reason="Patient's choice.")
    plan = tasks(course)
    for number in (2, 3, 4):
        task = plan[(TaskKind.INFUSION, number, 1)]
        assert task.state == TaskState.CANCELLED
        assert "discontinued" in task.reason
    assert plan[(TaskKind.INFUSION, 1, 1)].state == TaskState.DONE
    # Follow-up now counts from the only dose: labs at 5 weeks, LAR maintenance from 4 weeks.
    assert plan[(TaskKind.POST_COURSE_LABS, 0, 1)].due == D(2025, 2, 10)
    assert plan[(TaskKind.POST_COURSE_LABS, 0, 1)].state == TaskState.OPEN
    lar = [t for k, t in plan.items() if k[0] == TaskKind.LAR_MAINTENANCE]
    assert min(t.due for t in lar) == D(2025, 2, 3)
    assert all(t.state == TaskState.OPEN for t in lar)
    assert len(lar) == 19


def test_lab_task_inside_a_precaution_window_moves_to_the_day_after():
    task = PlannedTask(kind=TaskKind.POST_COURSE_LABS, cycle=0, sequence=1,
                                earliest=D(2025, 3, 4), due=D(2025, 3, 5), latest=D(2025, 3, 12),
                                basis="planned", note="", owner_party=OwnerParty.PRACTICE)
    moved = move_out_of_precaution_windows(task, [(2, D(2025, 3, 3), D(2025, 3, 10))])
    assert (moved.earliest, moved.due, moved.latest) == (D(2025, 3, 11), D(2025, 3, 11),
                                                         D(2025, 3, 12))
    # A pre-dose draw on the morning of its own infusion stays.
    own = PlannedTask(kind=TaskKind.PRE_DOSE_LABS, cycle=2, sequence=1,
                               earliest=D(2025, 3, 3), due=D(2025, 3, 3), latest=D(2025, 3, 3),
                               basis="planned", note="", owner_party=OwnerParty.PRACTICE)
    assert move_out_of_precaution_windows(own, [(2, D(2025, 3, 3), D(2025, 3, 10))]) \
        is own


def test_short_precaution_setting_shortens_the_check_in(course):
    course.centre.rules_settings = {"precaution_days": 3}
    course.centre.save()
    plan_sync(course=course, today=D(2024, 12, 17))
    checkin = tasks(course)[(TaskKind.RADIATION_SAFETY_CHECKIN, 1, 1)]
    assert dates(checkin) == (D(2025, 1, 7), D(2025, 1, 8), D(2025, 1, 9))
