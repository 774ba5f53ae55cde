"""Ordering a dose of [177Lu]Lu-DOTA-TATE: the supplier's deadlines and charges (pure).

Each dose is made for one patient and one calibration time. A supplier's terms say by when it
must be ordered, until when it can be cancelled free of charge, and what a late cancellation and
an unused dose cost. The defaults are the manufacturer's public US terms:

- order by the Tuesday two weeks before the calibration time: the Tuesday of the week
  (Monday to Sunday) two weeks before the calibration day's week, as doses are made weekly. A
  dose calibrated on any day from Monday 3 to Sunday 9 March is ordered by Tuesday 18 February
  (13 to 19 days before);
- cancel free of charge up to 10 days before the calibration day (the 10th day before is the
  last free day); later cancellations are charged (USD 500);
- an unused dose is charged (USD 2,000) unless the patient became ineligible through
  pre-treatment testing.

All days are the centre's local calendar days: the caller converts the calibration time to the
centre's time zone first, so a daylight-saving change never moves a deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from rules.errors import RulesInputError

TUESDAY = 1


@dataclass(frozen=True)
class OrderTerms:
    """A supplier's ordering terms."""

    cutoff_weekday: int = TUESDAY  # 0 Monday … 6 Sunday
    cutoff_weeks_before: int = 2
    free_cancellation_days_before: int = 10
    late_cancellation_charge: Decimal = Decimal("500")
    unused_dose_charge: Decimal = Decimal("2000")
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not 0 <= self.cutoff_weekday <= 6:
            raise RulesInputError("cutoff_weekday", "must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.cutoff_weeks_before <= 8:
            raise RulesInputError("cutoff_weeks_before", "must be 0 to 8 weeks")
        if not 0 <= self.free_cancellation_days_before <= 60:
            raise RulesInputError("free_cancellation_days_before", "must be 0 to 60 days")
        if self.late_cancellation_charge < 0 or self.unused_dose_charge < 0:
            raise RulesInputError("charge", "charges must not be negative")


DEFAULT_TERMS = OrderTerms()


@dataclass(frozen=True)
class OrderDeadlines:
    """The days that matter for a dose calibrated on `calibration_day`."""

    calibration_day: dt.date
    order_by: dt.date  # the last day the order may be placed
    free_cancellation_until: dt.date  # the last day a cancellation is free
    labs_by: dt.date  # pre-dose labs drawn by this day are known before the free deadline


def order_deadlines(calibration_day: dt.date, terms: OrderTerms = DEFAULT_TERMS) -> OrderDeadlines:
    """The order cut-off and the free-cancellation deadline of a dose calibrated that day."""
    if not isinstance(calibration_day, dt.date) or isinstance(calibration_day, dt.datetime):
        raise RulesInputError("calibration_day", "must be a date (the centre's local day)")
    week = calibration_day - dt.timedelta(days=calibration_day.weekday())
    order_by = week - dt.timedelta(weeks=terms.cutoff_weeks_before,
                                   days=-terms.cutoff_weekday)
    if order_by >= calibration_day:  # a cut-off later in the same week: the week before
        order_by -= dt.timedelta(weeks=1)
    free_until = calibration_day - dt.timedelta(days=terms.free_cancellation_days_before)
    return OrderDeadlines(calibration_day=calibration_day, order_by=order_by,
                          free_cancellation_until=free_until,
                          labs_by=free_until - dt.timedelta(days=1))


@dataclass(frozen=True)
class Charge:
    """What ending an order costs, and why."""

    amount: Decimal
    currency: str
    late: bool
    waived: bool
    reason: str


def cancellation_charge(cancel_day: dt.date, deadlines: OrderDeadlines,
                        terms: OrderTerms = DEFAULT_TERMS, *, ordered: bool = True) -> Charge:
    """The charge for cancelling on `cancel_day` (the centre's local day). An order not yet
    placed with the supplier costs nothing to cancel."""
    if not ordered:
        return Charge(Decimal(0), terms.currency, False, False, "Not yet ordered: no charge.")
    if cancel_day <= deadlines.free_cancellation_until:
        return Charge(Decimal(0), terms.currency, False, False,
                      f"Cancelled by {deadlines.free_cancellation_until:%d %b %Y}: free.")
    return Charge(terms.late_cancellation_charge, terms.currency, True, False,
                  f"Cancelled after {deadlines.free_cancellation_until:%d %b %Y}, the last free "
                  f"day: {terms.currency} {terms.late_cancellation_charge:,.2f}.")


def waste_charge(*, ineligible_on_testing: bool, terms: OrderTerms = DEFAULT_TERMS) -> Charge:
    """The charge for a dose received and not given: waived when pre-treatment testing made the
    patient ineligible."""
    if ineligible_on_testing:
        return Charge(Decimal(0), terms.currency, False, True,
                      "Unused because pre-treatment testing made the patient ineligible: the "
                      "charge is waived.")
    return Charge(terms.unused_dose_charge, terms.currency, False, False,
                  f"Unused dose: {terms.currency} {terms.unused_dose_charge:,.2f}.")
