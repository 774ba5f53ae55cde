"""The course plan (§3): V19 to the day, and a delay moving everything after it."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import (
    ROUTINE_BLOOD_KINDS,
    EventKind,
    RulesConfig,
    RulesInputError,
    add_months,
    course_plan,
)
from tests.rules.rules_builders import doses

D = dt.date
FIRST = D(2025, 1, 6)


def by_kind(events, kind):
    return [e for e in events if e.kind == kind]


def one(events, kind, cycle=None):
    (event,) = [e for e in events if e.kind == kind and e.cycle == cycle]
    return event


@pytest.mark.parametrize("given", [(), doses("7.4", "7.4", "7.4", "7.4")],
                         ids=["planned", "all-given"])
def test_v19_schedule_to_the_day(given):
    events = course_plan(FIRST, given)
    infusions = by_kind(events, EventKind.INFUSION)
    assert [e.due for e in infusions] == [D(2025, 1, 6), D(2025, 3, 3), D(2025, 4, 28),
                                          D(2025, 6, 23)]
    window = one(events, EventKind.NO_ROUTINE_BLOODS, 4)
    assert (window.earliest, window.latest) == (D(2025, 6, 23), D(2025, 6, 30))
    assert one(events, EventKind.POST_COURSE_LABS).due == D(2025, 7, 28)
    assert one(events, EventKind.SSTR_PET).earliest == D(2025, 9, 23)
    lar = by_kind(events, EventKind.LAR_MAINTENANCE)
    assert lar[0].due == D(2025, 7, 21)
    assert all((b.due - a.due).days == 28 for a, b in zip(lar, lar[1:], strict=False))
    assert lar[-1].due <= D(2026, 7, 6) < lar[-1].due + dt.timedelta(days=28)
    assert all(e.latest <= D(2026, 7, 6) for e in lar)
    assert "2026-07-06" in lar[-1].note
    imaging = [e.due for e in by_kind(events, EventKind.IMAGING)]
    assert imaging == [D(2025, 4, 6), D(2025, 7, 6), D(2025, 10, 6), D(2026, 1, 6),
                       D(2026, 4, 6), D(2026, 7, 6)]
    assert "mid-course" in by_kind(events, EventKind.IMAGING)[0].note
    assert "pseudoprogression" in by_kind(events, EventKind.IMAGING)[1].note


def test_v19_planned_windows_and_per_cycle_obligations():
    events = course_plan(FIRST)
    c2 = one(events, EventKind.INFUSION, 2)
    assert (c2.earliest, c2.due, c2.latest) == (D(2025, 2, 24), D(2025, 3, 3), D(2025, 3, 10))
    washout = one(events, EventKind.SSA_WASHOUT, 1)
    assert (washout.due, washout.latest) == (D(2024, 12, 7), D(2024, 12, 9))
    labs = one(events, EventKind.PRE_DOSE_LABS, 2)
    assert (labs.earliest, labs.due, labs.latest) == (D(2025, 2, 17), D(2025, 2, 24),
                                                      D(2025, 3, 3))
    lar = one(events, EventKind.LAR_INJECTION, 1)
    assert (lar.earliest, lar.latest) == (D(2025, 1, 6), D(2025, 1, 7))
    for cycle in range(1, 5):
        assert len([e for e in events if e.cycle == cycle]) == 6


def test_a_delayed_cycle_moves_everything_after_it():
    on_time = course_plan(FIRST, doses("7.4", "7.4"))
    late = course_plan(FIRST, (*doses("7.4"), doses("7.4", "3.7", gap_days=77)[1]))
    shift = dt.timedelta(days=21)
    for kind, cycle in [(EventKind.INFUSION, 3), (EventKind.INFUSION, 4),
                        (EventKind.PRE_DOSE_LABS, 3), (EventKind.NO_ROUTINE_BLOODS, 4),
                        (EventKind.POST_COURSE_LABS, None), (EventKind.SSA_WASHOUT, 4)]:
        assert one(late, kind, cycle).due == one(on_time, kind, cycle).due + shift
    assert one(late, EventKind.SSTR_PET).earliest == D(2025, 10, 14)
    # Imaging is counted from the first dose and does not move.
    assert by_kind(late, EventKind.IMAGING)[0].due == D(2025, 4, 6)


def test_an_ended_course_follows_up_from_its_last_dose():
    events = course_plan(FIRST, doses("7.4", "7.4"), course_ended=True)
    assert len(by_kind(events, EventKind.INFUSION)) == 2
    assert one(events, EventKind.POST_COURSE_LABS).due == D(2025, 3, 3) + dt.timedelta(days=35)
    assert by_kind(events, EventKind.LAR_MAINTENANCE)[0].due == D(2025, 3, 31)


def test_precaution_days_are_configurable():
    events = course_plan(FIRST, config=RulesConfig(precaution_days=3))
    window = one(events, EventKind.RADIATION_PRECAUTIONS, 1)
    assert window.latest == D(2025, 1, 9)
    assert "3 days" in window.note


def test_no_routine_blood_draw_inside_a_precaution_window():
    events = course_plan(FIRST, doses("7.4", "7.4"), RulesConfig(pre_dose_lab_window_days=50))
    windows = by_kind(events, EventKind.NO_ROUTINE_BLOODS)
    for draw in (e for e in events if e.kind in ROUTINE_BLOOD_KINDS):
        for window in windows:
            overlap_start = max(draw.earliest, window.earliest)
            overlap_end = min(draw.latest, window.latest)
            if overlap_start <= overlap_end:  # only the pre-dose draw on its own day 0
                assert draw.cycle == window.cycle and overlap_start == overlap_end == draw.latest
    # The 50-day lab window would reach back into cycle 1's window; it is cut after it.
    assert one(events, EventKind.PRE_DOSE_LABS, 2).earliest == D(2025, 1, 14)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"doses": doses("7.4", start=D(2025, 1, 7))}, "doses[0].date"),
        ({"doses": (doses("7.4", "7.4")[1],)}, "doses[0].cycle"),
        ({"doses": (), "course_ended": True}, "course_ended"),
        ({"doses": doses("7.4", "7.4", "7.4", "7.4", "7.4")}, "doses"),
        ({"doses": doses("7.4", "7.4", gap_days=0)}, "doses[1].date"),
    ],
)
def test_invalid_plans_name_their_field(kwargs, field):
    with pytest.raises(RulesInputError) as error:
        course_plan(FIRST, **kwargs)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [(D(2025, 1, 31), 1, D(2025, 2, 28)), (D(2024, 1, 31), 1, D(2024, 2, 29)),
     (D(2025, 6, 23), 3, D(2025, 9, 23)), (D(2025, 1, 6), 18, D(2026, 7, 6)),
     (D(2025, 3, 31), -1, D(2025, 2, 28)), (D(2025, 11, 15), 2, D(2026, 1, 15))],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected
