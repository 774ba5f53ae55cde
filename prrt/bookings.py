"""Booking a cycle's infusion: the day (and time and room) the navigator books, with its checks.

The plan rests on the doses given and the bookings (prrt.schedule): booking or rebooking a cycle
moves it, every task hanging on it and every later cycle not booked itself (56 days from the
dose or booking before). The checks, with messages that say what to do:

- at least 49 and at most 63 days after the previous dose (given, or as planned): outside that
  window a reason is required and the booking is marked;
- the last long-acting SSA injection at least 28 days before (refused under 28, a warning under
  30);
- the pre-dose labs window: labs already drawn for this cycle more than 14 days before the new
  day will have to be repeated (a warning);
- never in the past, never on or before the previous dose;
- where the centre has infusion rooms, a free slot of that day (prrt.capacity): its room and
  start time become the place and time, and the database never lets two bookings hold it.

A later cycle's own booking that the new day leaves outside its 49-63 day window is released
(with a warning): it has to be booked again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

import rules
from netcare import audit, events
from netcare.clock import centre_today, local_date, plan_date_error
from netcare.models import Role
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from prrt import capacity, clinical, orders
from prrt.models import OPEN_CYCLE_STATES, CourseEvent, CourseState, Cycle
from prrt.schedule import course_plan_events, infusion_days


@dataclass
class BookingResult:
    cycle: Cycle
    warnings: list[str] = field(default_factory=list)


def booking_checks(cycle: Cycle, day: dt.date, *, reason: str,
                   today: dt.date) -> tuple[list[str], bool]:
    """The warnings of booking `cycle` on `day` and whether it is outside the 49-63 day window;
    raises TransitionInvalid (with the field) when the booking cannot be made as asked."""
    course = cycle.course
    config = clinical.rules_config(course.centre)
    warnings: list[str] = []
    if day < today:
        raise TransitionInvalid(f"{day:%d %b %Y} is in the past: book today or later.",
                                field="booked_date")
    previous, given = capacity.previous_dose_day(cycle)
    outside = False
    if previous is not None:
        gap = (day - previous).days
        what = "the previous dose" if given else f"cycle {cycle.number - 1}'s planned day"
        if gap <= 0:
            raise TransitionInvalid(f"{day:%d %b %Y} is not after {what} "
                                    f"({previous:%d %b %Y}).", field="booked_date")
        early, late = config.cycle_window_early_days, config.cycle_window_late_days
        if not early <= gap <= late:
            outside = True
            text = (f"{day:%d %b %Y} is {gap} days after {what} ({previous:%d %b %Y}); cycles "
                    f"are given {early}-{late} days apart")
            if not reason:
                raise TransitionInvalid(f"{text}: give a reason to book outside that window.",
                                        field="reason")
            warnings.append(f"{text}. Booked outside the window: {reason}")
    last_ssa = clinical.last_long_acting_ssa(course)
    if last_ssa is not None:
        finding = rules.long_acting_ssa_finding(last_ssa, day, config)
        if finding is not None and finding.severity == rules.Severity.BLOCK:
            raise TransitionInvalid(
                f"{finding.reason} Book a day at least {config.ssa_washout_block_days} days "
                f"after it ({last_ssa + dt.timedelta(days=config.ssa_washout_block_days):%d %b %Y}"
                " or later).", field="booked_date")
        if finding is not None:
            warnings.append(finding.reason)
    labs, _refused = clinical.pre_dose_labs(cycle, today=today, config=config)
    if labs:
        oldest = min(local_date(lab.collected_at, course.centre) for lab in labs.values())
        if (day - oldest).days > config.pre_dose_lab_window_days:
            warnings.append(
                f"Labs drawn on {oldest:%d %b %Y} are more than "
                f"{config.pre_dose_lab_window_days} days before {day:%d %b %Y}: repeat them "
                "in the window before the new day.")
    return warnings, outside


def cycle_book(*, actor, cycle: Cycle, booked_date: dt.date, booked_time: dt.time | None = None,
               place: str = "", reason: str = "",
               slot: capacity.SlotKey | None = None) -> BookingResult:
    """Book (or rebook) the infusion of `cycle` on `booked_date`, as the centre's team.

    A centre with infusion rooms books into a free `slot` on that day (its room and start time
    become the place and time; the slot is taken, or moved, in this transaction); a centre
    without rooms takes the day, time and place as given."""
    reason = (reason or "").strip()
    place = (place or "").strip()
    if actor is None or actor.role not in (Role.NAVIGATOR, Role.SPECIALIST) \
            or actor.centre_id != cycle.course.centre_id:
        raise TransitionForbidden("Only the centre's team books infusions.")
    if not isinstance(booked_date, dt.date) or isinstance(booked_date, dt.datetime):
        raise TransitionInvalid("Give the day of the infusion.", field="booked_date")
    date_error = plan_date_error(booked_date, today=centre_today(cycle.course.centre),
                                 what="The infusion day")
    if date_error:
        raise TransitionInvalid(date_error, field="booked_date")
    with transaction.atomic():
        locked = (Cycle.objects.select_for_update(of=("self",))
                  .select_related("course__centre", "course__patient").get(pk=cycle.pk))
        course = locked.course
        if locked.state not in OPEN_CYCLE_STATES or course.state not in (
                CourseState.APPROVED, CourseState.ACTIVE, CourseState.ELIGIBILITY_REVIEW):
            raise TransitionConflict(
                f"Cycle {locked.number} is {locked.get_state_display().lower()}: it cannot be "
                "booked.")
        today = centre_today(course.centre)
        warnings, outside = booking_checks(locked, booked_date, reason=reason, today=today)
        taken = _slot_for(locked, booked_date, slot)
        if taken is not None:
            booked_time, place = taken.start, taken.room.name
        rebooking = locked.booked_date is not None
        before = audit.snapshot(locked, ["booked_date", "booked_time", "booked_place",
                                         "booked_reason", "booked_outside_interval"])
        locked.booked_date, locked.booked_time, locked.booked_place = (
            booked_date, booked_time, place)
        locked.booked_reason, locked.booked_outside_interval = reason, outside
        locked.booked_at = timezone.now()
        locked.save(update_fields=["booked_date", "booked_time", "booked_place", "booked_reason",
                                   "booked_outside_interval", "booked_at", "updated_at"])
        name = "rebook" if rebooking else "book"
        if taken is not None:
            capacity.slot_take(actor=actor, cycle=locked, slot=taken)
        else:
            capacity.slot_release(locked, actor=actor)  # the centre books without rooms now
        where = f" ({taken.room.name} at {taken.start:%H:%M})" if taken is not None else ""
        CourseEvent.objects.create(course=course, cycle=locked, actor=actor, transition=name,
                                   source=locked.state, target=locked.state,
                                   reason=f"Infusion {name}ed for {booked_date:%d %b %Y}{where}"
                                          + (f": {reason}" if reason else "."))
        audit.record_update(actor=actor, obj=locked, before=before, note=reason or name)
        warnings += _release_later_bookings(locked, actor)
        # The dose orders follow the bookings: prepared, moved, or cancelled (prrt.orders).
        warnings += orders.orders_follow_bookings(actor=actor, course=course, today=today)
        events.publish(events.CycleBooked(course_id=course.pk, cycle_id=locked.pk))
    return BookingResult(locked, warnings)


def _slot_for(cycle: Cycle, day: dt.date, slot: capacity.SlotKey | None) -> capacity.Slot | None:
    """The slot the booking takes: required (and checked) when the centre has infusion rooms,
    refused when it has none."""
    centre = cycle.course.centre
    if not capacity.centre_has_rooms(centre):
        if slot is not None:
            raise TransitionInvalid("The centre has no infusion rooms: give the day, time and "
                                    "place.", field="slot")
        return None
    if slot is None:
        raise TransitionInvalid(capacity.CHOOSE_A_SLOT, field="slot")
    if slot.day != day:
        raise TransitionInvalid(f"That slot is on {slot.day:%d %b %Y}, not on the infusion day "
                                f"({day:%d %b %Y}): {capacity.CHOOSE_A_SLOT.lower()}",
                                field="slot")
    return capacity.slot_check(centre, slot, cycle=cycle)


def _release_later_bookings(cycle: Cycle, actor) -> list[str]:
    """Release the later cycles' bookings that the new day leaves outside 49-63 days."""
    config = clinical.rules_config(cycle.course.centre)
    days = infusion_days(course_plan_events(cycle.course))
    warnings = []
    previous = cycle.booked_date
    for later in cycle.course.cycles.filter(number__gt=cycle.number,
                                            state__in=OPEN_CYCLE_STATES).order_by("number"):
        if later.booked_date is None:
            previous = days.get(later.number, previous)
            continue
        gap = (later.booked_date - previous).days
        # A booking made outside the window with its reason stays, but never on or before the
        # cycle before it (the rule every booking is checked against).
        if config.cycle_window_early_days <= gap <= config.cycle_window_late_days \
                or (later.booked_outside_interval and gap > 0):
            previous = later.booked_date
            continue
        before = audit.snapshot(later, ["booked_date", "booked_time", "booked_place"])
        released = later.booked_date
        Cycle.objects.filter(pk=later.pk).update(booked_date=None, booked_time=None,
                                                 booked_place="", booked_at=timezone.now())
        later.refresh_from_db()
        freed = capacity.slot_release(later, actor=actor)
        note = (f"Booking of {released:%d %b %Y} released: {gap} days after cycle "
                f"{later.number - 1}." + (f" Slot freed: {freed}." if freed else ""))
        CourseEvent.objects.create(course=later.course, cycle=later, actor=actor,
                                   transition="release_booking", source=later.state,
                                   target=later.state, reason=note)
        audit.record_update(actor=actor, obj=later, before=before, note=note)
        warnings.append(f"Cycle {later.number}'s booking of {released:%d %b %Y} was released "
                        f"({gap} days after cycle {later.number - 1}): book it again.")
        # The released cycle is planned anew (56 days after the one before it): the next
        # booking is checked against that day, not against the released one.
        days = infusion_days(course_plan_events(cycle.course))
        previous = days.get(later.number, previous)
    return warnings
