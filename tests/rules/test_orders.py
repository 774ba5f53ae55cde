"""The supplier's deadlines and charges (rules.orders), at their boundaries.

Default terms: order by the latest Tuesday at least 14 days before the calibration day; cancel
free up to 10 days before it; USD 500 for a later cancellation; USD 2,000 for an unused dose
unless pre-treatment testing made the patient ineligible.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import rules
from rules import OrderTerms, cancellation_charge, order_deadlines, waste_charge

D = dt.date


@pytest.mark.parametrize(("calibration", "order_by"), [
    (D(2025, 3, 3), D(2025, 2, 18)),    # Monday: the Tuesday of the week two weeks before
    (D(2025, 3, 4), D(2025, 2, 18)),    # Tuesday: exactly two weeks before
    (D(2025, 3, 9), D(2025, 2, 18)),    # Sunday: the same week
    (D(2025, 3, 10), D(2025, 2, 25)),   # the next Monday: the next week
    (D(2025, 3, 14), D(2025, 2, 25)),   # across the end of February
    (D(2024, 3, 14), D(2024, 2, 27)),   # a leap year (29 Feb 2024 is a Thursday)
    (D(2025, 1, 8), D(2024, 12, 24)),   # across the end of the year
    (D(2025, 1, 6), D(2024, 12, 24)),   # Monday 6 January (the V19 first dose)
])
def test_order_by_the_tuesday_two_weeks_before(calibration, order_by):
    deadlines = order_deadlines(calibration)
    assert deadlines.order_by == order_by
    assert deadlines.order_by.weekday() == 1
    assert 13 <= (calibration - deadlines.order_by).days <= 19


@pytest.mark.parametrize(("weekday", "weeks", "calibration", "order_by"), [
    (3, 1, D(2025, 3, 13), D(2025, 3, 6)),   # Thursday one week before a Thursday
    (3, 1, D(2025, 3, 10), D(2025, 3, 6)),   # the Monday of that week: the same Thursday
    (0, 0, D(2025, 3, 12), D(2025, 3, 10)),  # Monday of the same week
    (4, 0, D(2025, 3, 12), D(2025, 3, 7)),   # Friday of the same week is too late: the one before
    (2, 0, D(2025, 3, 12), D(2025, 3, 5)),   # not the calibration day itself
])
def test_other_cut_off_terms(weekday, weeks, calibration, order_by):
    terms = OrderTerms(cutoff_weekday=weekday, cutoff_weeks_before=weeks)
    assert order_deadlines(calibration, terms).order_by == order_by


def test_free_cancellation_until_the_tenth_day_before():
    deadlines = order_deadlines(D(2025, 3, 4))
    assert deadlines.free_cancellation_until == D(2025, 2, 22)
    assert deadlines.labs_by == D(2025, 2, 21)
    day_before, last_free, first_late = D(2025, 2, 21), D(2025, 2, 22), D(2025, 2, 23)
    assert cancellation_charge(day_before, deadlines).amount == 0
    free = cancellation_charge(last_free, deadlines)
    assert (free.amount, free.late) == (Decimal(0), False)
    late = cancellation_charge(first_late, deadlines)
    assert (late.amount, late.currency, late.late) == (Decimal(500), "USD", True)
    assert "22 Feb 2025" in late.reason and "USD 500.00" in late.reason


def test_an_order_not_yet_placed_costs_nothing_to_cancel():
    deadlines = order_deadlines(D(2025, 3, 4))
    charge = cancellation_charge(D(2025, 3, 3), deadlines, ordered=False)
    assert (charge.amount, charge.late) == (Decimal(0), False)


def test_an_unused_dose_is_charged_unless_testing_made_the_patient_ineligible():
    charged = waste_charge(ineligible_on_testing=False)
    assert (charged.amount, charged.waived) == (Decimal(2000), False)
    waived = waste_charge(ineligible_on_testing=True)
    assert (waived.amount, waived.waived) == (Decimal(0), True)
    euros = OrderTerms(unused_dose_charge=Decimal("1800"), currency="EUR")
    assert waste_charge(ineligible_on_testing=False, terms=euros).reason == (
        "Unused dose: EUR 1,800.00.")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"cutoff_weekday": 7}, "cutoff_weekday"),
    ({"cutoff_weekday": -1}, "cutoff_weekday"),
    ({"cutoff_weeks_before": 9}, "cutoff_weeks_before"),
    ({"free_cancellation_days_before": 61}, "free_cancellation_days_before"),
    ({"late_cancellation_charge": Decimal("-1")}, "charge"),
])
def test_bad_terms_name_their_field(kwargs, field):
    with pytest.raises(rules.RulesInputError) as exc:
        OrderTerms(**kwargs)
    assert exc.value.field == field


def test_the_calibration_day_is_a_local_date_not_a_moment():
    with pytest.raises(rules.RulesInputError) as exc:
        order_deadlines(dt.datetime(2025, 3, 4, 8, 0))
    assert exc.value.field == "calibration_day"


# --- the plan: pre-dose labs before the free-cancellation deadline -------------------------------


def _labs(config: rules.RulesConfig, cycle: int = 2):
    plan = rules.course_plan(D(2025, 1, 6), [rules.Dose(1, D(2025, 1, 6), Decimal("7.4"))],
                             config)
    return {e.kind: e for e in plan if e.cycle == cycle}


def test_without_orders_the_labs_may_be_drawn_up_to_the_dose():
    events = _labs(rules.RulesConfig())
    labs = events[rules.EventKind.PRE_DOSE_LABS]
    assert (labs.earliest, labs.due, labs.latest) == (D(2025, 2, 17), D(2025, 2, 24),
                                                      D(2025, 3, 3))
    assert rules.EventKind.CONFIRMATORY_LABS not in events


@pytest.mark.parametrize(("by", "due"), [
    (6, D(2025, 2, 24)),    # the deadline after the aim: the aim stays
    (7, D(2025, 2, 24)),    # on the aim
    (8, D(2025, 2, 23)),    # before the aim: due on the deadline
    (11, D(2025, 2, 20)),   # default terms: 10 free days + 1
    (13, D(2025, 2, 18)),   # the last value that leaves a day in the window
])
def test_with_orders_the_labs_are_due_before_the_free_cancellation(by, due):
    labs = _labs(rules.RulesConfig(pre_dose_labs_by_days_before=by))[
        rules.EventKind.PRE_DOSE_LABS]
    # Drawn later, up to the dose, they still count (the window is unchanged).
    assert (labs.earliest, labs.due, labs.latest) == (D(2025, 2, 17), due, D(2025, 3, 3))


@pytest.mark.parametrize("by", [14, -1])
def test_a_labs_deadline_outside_the_window_is_refused(by):
    with pytest.raises(ValueError, match="pre_dose_labs_by_days_before"):
        rules.RulesConfig(pre_dose_labs_by_days_before=by)


def test_confirmatory_labs_the_day_before_the_dose():
    events = _labs(rules.RulesConfig(confirmatory_labs_day_before=True))
    confirm = events[rules.EventKind.CONFIRMATORY_LABS]
    assert (confirm.earliest, confirm.due, confirm.latest) == (D(2025, 3, 2), D(2025, 3, 2),
                                                               D(2025, 3, 3))
