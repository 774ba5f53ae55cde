"""The centre's infusion capacity: its rooms, their slots, the closures and the bookings that fill
them.

A room (``InfusionRoom``) infuses on its weekdays (0 Monday … 6 Sunday), in the slots of its
day (start times as "HH:MM"; a slot is known by its index in that list). A closure takes a room,
or without a room the whole centre, out for a range of days. A cycle's booking holds one slot
(``InfusionSlotBooking``): the database refuses a second booking of one slot, so two navigators
racing for it get one booking and one clear conflict. Booking (prrt.bookings) takes the slot in
the transaction that books the cycle; releasing a booking, withholding or cancelling the cycle
frees it.

Which days a cycle may be booked on (:func:`bookable_days`): 49-63 days after the previous dose
(given, or as planned; cycle 1: from today over the next weeks), not before the long-acting SSA
washout, never in the past.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

import rules
from netcare import access, audit
from netcare.clock import local_date
from netcare.models import AuditEvent
from netcare.workflow import TransitionConflict, TransitionInvalid
from prrt import clinical, orders
from prrt.models import (
    LIVE_ORDER_STATES,
    Administration,
    CourseEvent,
    Cycle,
    CycleState,
    DoseOrder,
    DoseOrderState,
    InfusionClosure,
    InfusionRoom,
    InfusionSlotBooking,
)

logger = logging.getLogger(__name__)

_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
WEEKDAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays",
                 "Sundays")
# Cycle 1 has no dose before it: its free slots are offered from today until this many days
# after its planned day (or today, when that has passed).
FIRST_CYCLE_HORIZON_DAYS = 14
CHOOSE_A_SLOT = "Choose a free infusion slot."
SLOT_TAKEN = "That slot has just been booked: choose another."


# --- a room's settings ------------------------------------------------------------------------


class RoomSettingError(ValueError):
    """A room's setting NETcare cannot read; `field` names it (slot_times or weekdays)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_slot_times(value) -> list[dt.time]:
    """The start times of a room's slots from its setting: a list of "HH:MM", earliest first."""
    if not isinstance(value, list):
        raise RoomSettingError("slot_times", 'Give a list of start times, e.g. ["08:30", '
                                             '"13:00"].')
    times = []
    for item in value:
        match = _HH_MM.fullmatch(item) if isinstance(item, str) else None
        if match is None:
            raise RoomSettingError("slot_times", f"{item!r} is not a time as HH:MM (00:00-23:59).")
        times.append(dt.time(int(match[1]), int(match[2])))
    if any(later <= earlier for earlier, later in zip(times, times[1:], strict=False)):
        raise RoomSettingError("slot_times", "List each start time once, earliest first.")
    return times


def parse_weekdays(value) -> list[int]:
    """The weekdays a room infuses on from its setting: 0 Monday … 6 Sunday, each once."""
    if not isinstance(value, list):
        raise RoomSettingError("weekdays", "Give a list of weekdays, 0 Monday … 6 Sunday, "
                                           "e.g. [0, 1, 2, 3].")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 6:
            raise RoomSettingError("weekdays", f"{item!r} is not a weekday: use 0 (Monday) to "
                                               "6 (Sunday).")
    if len(set(value)) != len(value):
        raise RoomSettingError("weekdays", "List each weekday once.")
    return sorted(value)


def room_slots(room: InfusionRoom) -> list[dt.time]:
    """The start times of `room`'s slots, its settings checked (weekdays too); raises
    RoomSettingError (a ValueError naming the field) when one cannot be read."""
    parse_weekdays(room.weekdays)
    return parse_slot_times(room.slot_times)


def room_settings_errors(room: InfusionRoom) -> dict[str, str]:
    """What is wrong with `room`'s settings, by field, for the admin's form; an active room
    needs at least one slot and one weekday."""
    errors: dict[str, str] = {}
    for name, parse in (("slot_times", parse_slot_times), ("weekdays", parse_weekdays)):
        try:
            values = parse(getattr(room, name))
        except RoomSettingError as exc:
            errors[name] = exc.message
        else:
            if room.active and not values:
                errors[name] = ("An active room needs at least one slot time."
                                if name == "slot_times" else
                                "An active room needs at least one weekday.")
    return errors


# --- slots --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotKey:
    """A slot as a form or an API names it: the room's public id, the day, the slot's index."""

    room_id: uuid.UUID
    day: dt.date
    index: int

    def __str__(self) -> str:
        return f"{self.room_id}_{self.day:%Y-%m-%d}_{self.index}"

    @classmethod
    def parse(cls, text: str) -> SlotKey:
        """Read a key written by str(); ValueError when it is not one."""
        parts = str(text).strip().split("_")
        if len(parts) != 3 or not parts[2].isdigit() or len(parts[2]) > 2:
            raise ValueError(f"{text!r} is not an infusion slot.")
        return cls(uuid.UUID(parts[0]), dt.date.fromisoformat(parts[1]), int(parts[2]))


@dataclass(frozen=True)
class Slot:
    room: InfusionRoom
    day: dt.date
    index: int
    start: dt.time

    @property
    def key(self) -> SlotKey:
        return SlotKey(self.room.external_id, self.day, self.index)

    @property
    def label(self) -> str:
        """How the booking form offers it: "08:30, Room 1" (the day is its group's)."""
        return f"{self.start:%H:%M}, {self.room.name}"

    def describe(self) -> str:
        return f"{self.room.name} at {self.start:%H:%M} on {self.day:%a %d %b %Y}"


@dataclass
class _Room:
    room: InfusionRoom
    times: list[dt.time]
    weekdays: frozenset[int]


def _rooms(rooms: Iterable[InfusionRoom]) -> tuple[list[_Room], list[str]]:
    """The rooms with their settings read, and a line for each room whose settings cannot be
    (it offers nothing until they are corrected)."""
    read, problems = [], []
    for room in rooms:
        try:
            read.append(_Room(room, room_slots(room), frozenset(parse_weekdays(room.weekdays))))
        except RoomSettingError as exc:
            logger.warning("Infusion room %s: %s", room.pk, exc)
            problems.append(f"{room.name}: {exc}")
            read.append(_Room(room, [], frozenset()))
    return read, problems


def _closures(centre, start: dt.date, end: dt.date) -> list[InfusionClosure]:
    return list(InfusionClosure.objects.filter(centre=centre, start_date__lte=end,
                                               end_date__gte=start))


def _closure_on(closures: list[InfusionClosure], room: InfusionRoom,
                day: dt.date) -> InfusionClosure | None:
    for closure in closures:
        if closure.room_id in (None, room.pk) and closure.start_date <= day <= closure.end_date:
            return closure
    return None


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def centre_has_rooms(centre) -> bool:
    """Whether the centre books its infusions into room slots (it has an active room)."""
    return InfusionRoom.objects.filter(centre=centre, active=True).exists()


def free_slots(centre, start: dt.date, end: dt.date) -> list[Slot]:
    """Every free slot of the centre's active rooms from `start` to `end` (both included), by
    day, time and room: not on a closed day (the room's or the whole centre's), only on the
    room's weekdays, not booked. Three queries, whatever the range."""
    if end < start:
        return []
    rooms, _problems = _rooms(InfusionRoom.objects.filter(centre=centre, active=True)
                              .order_by("name", "id"))
    closures = _closures(centre, start, end)
    taken = set(InfusionSlotBooking.objects.filter(room__centre=centre, day__gte=start,
                                                   day__lte=end)
                .values_list("room_id", "day", "slot"))
    slots = []
    for day in _days(start, end):
        for room in rooms:
            if day.weekday() not in room.weekdays or _closure_on(closures, room.room, day):
                continue
            slots.extend(Slot(room.room, day, index, start_at)
                         for index, start_at in enumerate(room.times)
                         if (room.room.pk, day, index) not in taken)
    return sorted(slots, key=lambda s: (s.day, s.start, s.room.name, s.index))


# --- taking and freeing a slot (inside the booking's transaction) -------------------------------


def slot_check(centre, key: SlotKey, *, cycle: Cycle) -> Slot:
    """The slot `key` names, if `cycle` may take it: one of the centre's active rooms, on one of
    its weekdays, not closed, not booked by another cycle. Raises TransitionInvalid (field
    "slot"), or TransitionConflict when another cycle holds it."""
    room = InfusionRoom.objects.filter(centre=centre, external_id=key.room_id).first()
    if room is None:
        raise TransitionInvalid(f"{CHOOSE_A_SLOT} That room is not one of the centre's.",
                                field="slot")
    if not room.active:
        raise TransitionInvalid(f"{room.name} no longer infuses: choose another slot.",
                                field="slot")
    try:
        times = room_slots(room)
        weekdays = parse_weekdays(room.weekdays)
    except RoomSettingError as exc:
        raise TransitionInvalid(f"{room.name}'s settings cannot be read ({exc}): choose another "
                                "room's slot.", field="slot") from exc
    if key.day.weekday() not in weekdays:
        raise TransitionInvalid(f"{room.name} does not infuse on {WEEKDAY_NAMES[key.day.weekday()]}"
                                ": choose another slot.", field="slot")
    if not 0 <= key.index < len(times):
        raise TransitionInvalid(CHOOSE_A_SLOT, field="slot")
    closure = _closure_on(_closures(centre, key.day, key.day), room, key.day)
    if closure is not None:
        why = f" ({closure.reason})" if closure.reason else ""
        raise TransitionInvalid(f"{room.name} is closed on {key.day:%d %b %Y}{why}: choose "
                                "another slot.", field="slot")
    holder = (InfusionSlotBooking.objects.filter(room=room, day=key.day, slot=key.index)
              .values_list("cycle_id", flat=True).first())
    if holder is not None and holder != cycle.pk:
        raise TransitionConflict(SLOT_TAKEN, field="slot")
    return Slot(room, key.day, key.index, times[key.index])


def slot_take(*, actor, cycle: Cycle, slot: Slot) -> InfusionSlotBooking:
    """Give `cycle` the slot (moving its booking from the slot it held), in a savepoint: when
    another transaction took the slot first, the database refuses the second booking and the
    navigator gets TransitionConflict. The caller holds the cycle's row lock."""
    held = InfusionSlotBooking.objects.filter(cycle=cycle).first()
    if held is not None and (held.room_id, held.day, held.slot) == (slot.room.pk, slot.day,
                                                                     slot.index):
        return held
    before = audit.snapshot(held, ["room_id", "day", "slot"]) if held is not None else None
    try:
        with transaction.atomic():
            if held is None:
                held = InfusionSlotBooking.objects.create(room=slot.room, day=slot.day,
                                                          slot=slot.index, cycle=cycle)
            else:
                held.room, held.day, held.slot = slot.room, slot.day, slot.index
                held.save(update_fields=["room", "day", "slot"])
    except IntegrityError as exc:
        raise TransitionConflict(SLOT_TAKEN, field="slot") from exc
    held.cycle = cycle
    if before is None:
        audit.record_create(actor=actor, obj=held)
    else:
        audit.record_update(actor=actor, obj=held, before=before, note="slot moved")
    return held


def slot_release(cycle: Cycle, *, actor, why: str = "") -> str:
    """Free the slot `cycle` holds, if any; returns what was freed ("Room 1 at 08:30 on …") or
    "". With `why`, the course's timeline says so (a withhold, a cancellation); a released
    booking says it in its own event."""
    held = (InfusionSlotBooking.objects.filter(cycle=cycle)
            .select_related("room", "cycle__course__patient").first())
    if held is None:
        return ""
    try:
        start = room_slots(held.room)[held.slot]
        what = Slot(held.room, held.day, held.slot, start).describe()
    except (RoomSettingError, IndexError):
        what = f"{held.room.name} slot {held.slot + 1} on {held.day:%a %d %b %Y}"
    before = audit.snapshot(held, ["room_id", "day", "slot"])
    audit.record(actor=actor, action=AuditEvent.Action.DELETE, obj=held,
                 changes={name: [value, None] for name, value in before.items()},
                 note=f"slot freed: {why}" if why else "slot freed")
    held.delete()
    if why:
        state = held.cycle.state  # as the transition that frees the slot left it
        CourseEvent.objects.create(course_id=held.cycle.course_id, cycle_id=held.cycle_id,
                                   actor=actor, transition="release_slot", source=state,
                                   target=state,
                                   reason=f"Infusion slot freed ({what}): {why}")
    return what


# --- the days a cycle may be booked on ------------------------------------------------------------


def previous_dose_day(cycle: Cycle) -> tuple[dt.date | None, bool]:
    """The day of the dose before `cycle` and whether it was given (else: as planned)."""
    if cycle.number == 1:
        return None, False
    previous = cycle.course.cycles.get(number=cycle.number - 1)
    administration = Administration.objects.filter(cycle=previous).first()
    if administration is not None:
        return local_date(administration.administered_at, cycle.course.centre), True
    return previous.planned_date, False


def bookable_days(cycle: Cycle, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day the rules allow `cycle`'s infusion on (start after end when none
    is left): 49-63 days after the previous dose (given, or as planned; cycle 1: from today
    until FIRST_CYCLE_HORIZON_DAYS after its planned day), not before the long-acting SSA
    washout (28 days after the last injection), not in the past, and, at a centre that orders
    its doses, not before the first day whose dose can still be ordered by its cut-off."""
    course = cycle.course
    config = clinical.rules_config(course.centre)
    previous, _given = previous_dose_day(cycle)
    if previous is None:
        start = today
        end = max(today, cycle.planned_date) + dt.timedelta(days=FIRST_CYCLE_HORIZON_DAYS)
    else:
        start = previous + dt.timedelta(days=config.cycle_window_early_days)
        end = previous + dt.timedelta(days=config.cycle_window_late_days)
        if cycle.state == CycleState.WITHHELD:
            # Withheld for toxicity, it may be given until the 16-week rule ends the course
            # (booked after 63 days with the reason, as every booking outside the window).
            end = max(end, sixteen_week_last_day(cycle, previous, config))
    last_ssa = clinical.last_long_acting_ssa(course)
    if last_ssa is not None:
        start = max(start, last_ssa + dt.timedelta(days=config.ssa_washout_block_days))
    orderable = orders.first_orderable_day(course.centre, today)
    if orderable is not None:
        start = max(start, orderable)
    return max(start, today), end


def sixteen_week_last_day(cycle: Cycle, previous: dt.date, config) -> dt.date:
    """The last day a delayed cycle can be given before the 16-week rule discontinues the course
    (clinical-rules §4.4: 112 days after the dose was due, or an interval of more than 112 days
    from the previous dose)."""
    if config.sixteen_week_mode == rules.SixteenWeekMode.INTERVAL:
        return previous + dt.timedelta(days=config.sixteen_week_days)
    return cycle.due_date + dt.timedelta(days=config.sixteen_week_days - 1)


@dataclass
class SlotOffer:
    """The free slots the booking form offers: those in the days the rules allow, and those of
    `day` (a day outside them the navigator asked for, to book with a reason)."""

    start: dt.date
    end: dt.date
    slots: list[Slot] = field(default_factory=list)
    day: dt.date | None = None

    @property
    def window_open(self) -> bool:
        return self.start <= self.end

    def by_day(self) -> list[tuple[dt.date, list[Slot]]]:
        days: dict[dt.date, list[Slot]] = {}
        for slot in self.slots:
            days.setdefault(slot.day, []).append(slot)
        return list(days.items())


def slot_offer(cycle: Cycle, today: dt.date, *, day: dt.date | None = None) -> SlotOffer:
    """The free slots to offer for booking `cycle` (see SlotOffer); `day` adds that day's."""
    start, end = bookable_days(cycle, today)
    slots = free_slots(cycle.course.centre, start, end) if start <= end else []
    if day is not None and day >= today and not start <= day <= end:
        slots = sorted([*slots, *free_slots(cycle.course.centre, day, day)],
                       key=lambda s: (s.day, s.start, s.room.name, s.index))
    return SlotOffer(start=start, end=end, slots=slots, day=day)


# --- the week's infusion calendar --------------------------------------------------------------

ORDER_LABELS = {
    DoseOrderState.TO_ORDER: "dose to order",
    DoseOrderState.ORDERED: "dose ordered",
    DoseOrderState.CONFIRMED: "dose confirmed",
    DoseOrderState.RECEIVED: "dose received",
    DoseOrderState.ADMINISTERED: "dose administered",
    DoseOrderState.CANCELLED: "dose cancelled",
    DoseOrderState.WASTED: "dose wasted",
}
NO_ORDER = "no order"
_LIVE_LABELS = {ORDER_LABELS[state] for state in LIVE_ORDER_STATES}


@dataclass
class Cell:
    """One room's slot on one day: "booked", "free", "closed", "off" (no infusions that day),
    or "past" (a day gone by with nothing booked)."""

    kind: str
    day: dt.date
    booking: InfusionSlotBooking | None = None
    visible: bool = True  # the viewer may see the booked patient
    reason: str = ""  # a closure's
    order: str = ""  # the dose order's state, as said on the page

    @property
    def order_tone(self) -> str:
        """The badge of the order's state: a dose on its way is fine, a missing one is not."""
        if self.order in (ORDER_LABELS[DoseOrderState.CONFIRMED],
                          ORDER_LABELS[DoseOrderState.RECEIVED],
                          ORDER_LABELS[DoseOrderState.ADMINISTERED]):
            return "ok"
        if self.order in _LIVE_LABELS:
            return "info"
        return "warn"


@dataclass
class Row:
    room: InfusionRoom
    index: int
    start: dt.time | None
    cells: list[Cell]


@dataclass
class WeekGrid:
    monday: dt.date
    days: list[dt.date]
    rows: list[Row]
    patients: list[uuid.UUID]  # the patients shown by name, for the audit trail
    problems: list[str]  # rooms whose settings cannot be read


def _order_labels(cycle_ids: list[int]) -> dict[int, str]:
    """Each cycle's dose order as the calendar says it: the live order, else the latest."""
    labels: dict[int, str] = {}
    for cycle_id, state in (DoseOrder.objects.filter(cycle_id__in=cycle_ids)
                            .order_by("cycle_id", "created_at", "id")
                            .values_list("cycle_id", "state")):
        if state in LIVE_ORDER_STATES or labels.get(cycle_id) not in _LIVE_LABELS:
            labels[cycle_id] = ORDER_LABELS.get(state, state)
    return labels


def week_grid(centre, monday: dt.date, *, today: dt.date, viewer=None) -> WeekGrid:
    """The centre's infusions in the week from `monday`: a row per room and slot (active rooms,
    and inactive ones holding a booking that week), a column per day any room infuses on (or
    holds a booking; Monday to Friday when there is none). Each booking names its patient when
    `viewer` may see them. Four queries, whatever the bookings."""
    sunday = monday + dt.timedelta(days=6)
    all_rooms = list(InfusionRoom.objects.filter(centre=centre).order_by("name", "id"))
    closures = _closures(centre, monday, sunday)
    bookings = list(InfusionSlotBooking.objects.filter(room__centre=centre, day__gte=monday,
                                                       day__lte=sunday)
                    .select_related("cycle__course__patient"))
    orders = _order_labels([b.cycle_id for b in bookings]) if bookings else {}
    booked = {(b.room_id, b.day, b.slot): b for b in bookings}
    booked_rooms = {b.room_id for b in bookings}
    rooms, problems = _rooms([r for r in all_rooms if r.active or r.pk in booked_rooms])
    weekdays = {d for room in rooms if room.room.active for d in room.weekdays}
    weekdays |= {b.day.weekday() for b in bookings}
    days = [monday + dt.timedelta(days=d) for d in sorted(weekdays or range(5))]
    rows, shown = [], []
    for room in rooms:
        indices = sorted(set(range(len(room.times)))
                         | {b.slot for b in bookings if b.room_id == room.room.pk})
        for index in indices:
            start = room.times[index] if index < len(room.times) else None
            cells = []
            for day in days:
                booking = booked.get((room.room.pk, day, index))
                closure = _closure_on(closures, room.room, day)
                if booking is not None:
                    patient = booking.cycle.course.patient
                    visible = viewer is None or access.can_view_patient(viewer, patient)
                    if visible:
                        shown.append(patient.external_id)
                    cells.append(Cell("booked", day, booking=booking, visible=visible,
                                      order=orders.get(booking.cycle_id, NO_ORDER)))
                elif not room.room.active or day.weekday() not in room.weekdays \
                        or start is None:
                    cells.append(Cell("off", day))
                elif closure is not None:
                    cells.append(Cell("closed", day, reason=closure.reason))
                else:
                    cells.append(Cell("past" if day < today else "free", day))
            rows.append(Row(room.room, index, start, cells))
    return WeekGrid(monday=monday, days=days, rows=rows,
                    patients=list(dict.fromkeys(shown)), problems=problems)
