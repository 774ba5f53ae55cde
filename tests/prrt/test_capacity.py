"""Infusion-room capacity (prrt.capacity): the rooms' settings, the free slots, the days a cycle
may be booked on, booking into a slot (taken, moved, freed) and two navigators racing for one.

The V19 course of test_bookings: approved on 17 Dec 2024, cycle 1 planned on Mon 6 Jan 2025,
cycle 2 on Mon 3 Mar; the last long-acting SSA injection on 27 Nov 2024. The centre has two
rooms, each with slots at 08:30 and 13:00, Monday to Thursday.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from netcare.models import AuditEvent, Role
from netcare.workflow import TransitionConflict, TransitionInvalid
from prrt import services
from prrt.bookings import cycle_book
from prrt.capacity import (
    SLOT_TAKEN,
    RoomSettingError,
    SlotKey,
    bookable_days,
    free_slots,
    room_slots,
    slot_offer,
)
from prrt.models import (
    CourseEvent,
    Cycle,
    CycleState,
    InfusionClosure,
    InfusionRoom,
    InfusionSlotBooking,
)
from tests.factories import UserFactory
from tests.prrt.builders import approved_course, enter_labs
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db

D = dt.date
C1 = D(2025, 1, 6)  # a Monday
C2 = D(2025, 3, 3)  # a Monday
MON, TUE, WED, THU, FRI = (D(2025, 1, 6 + n) for n in range(5))
AM, PM = dt.time(8, 30), dt.time(13)
REASON = "Patient away: booked outside the window after a call with the specialist."


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC), tick=False)


def make_room(centre, name: str, **extra) -> InfusionRoom:
    return InfusionRoom.objects.create(centre=centre, name=name, slot_times=["08:30", "13:00"],
                                       weekdays=[0, 1, 2, 3], **extra)


@pytest.fixture
def rooms(centre) -> tuple[InfusionRoom, InfusionRoom]:
    return make_room(centre, "Room 1"), make_room(centre, "Room 2")


@pytest.fixture
def course(time_machine, centre, oncologist, specialist, navigator):
    move(time_machine, D(2024, 12, 17))
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


@pytest.fixture
def other_course(course, centre, oncologist, specialist):
    """A second patient of the centre, planned the same day."""
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1, sex="M")


def cycle(course, number: int) -> Cycle:
    return Cycle.objects.get(course=course, number=number)


def key(room: InfusionRoom, day: dt.date, index: int) -> SlotKey:
    return SlotKey(room.external_id, day, index)


def slots_of(slots) -> list[tuple[str, dt.date, dt.time]]:
    return [(s.room.name, s.day, s.start) for s in slots]


def book(navigator, course, number: int, room, day, index, reason: str = "", capture=None):
    def run():
        return cycle_book(actor=navigator, cycle=cycle(course, number), booked_date=day,
                          slot=key(room, day, index), reason=reason)
    if capture is None:
        return run()
    with capture(execute=True):
        return run()


# --- a room's settings -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [["8:30"], ["24:00"], ["08:60"], ["08:30 "], "08:30", [830],
                                   None, ["13:00", "08:30"], ["08:30", "08:30"]])
def test_slot_times_other_than_hh_mm_earliest_first_are_refused(value):
    room = InfusionRoom(name="Room 1", slot_times=value, weekdays=[0])
    with pytest.raises(ValueError, match="^slot_times: ") as refused:
        room_slots(room)
    assert isinstance(refused.value, RoomSettingError) and refused.value.field == "slot_times"


@pytest.mark.parametrize("value", [[7], [-1], [True], ["1"], [0.5], [1, 1], 3, None])
def test_weekdays_other_than_0_to_6_once_are_refused(value):
    room = InfusionRoom(name="Room 1", slot_times=["08:30"], weekdays=value)
    with pytest.raises(ValueError, match="^weekdays: ") as refused:
        room_slots(room)
    assert refused.value.field == "weekdays"


def test_the_settings_read_at_their_limits():
    room = InfusionRoom(name="Room 1", slot_times=["00:00", "08:30", "23:59"], weekdays=[6, 0])
    assert room_slots(room) == [dt.time(0), AM, dt.time(23, 59)]


def test_the_room_says_what_is_wrong_beside_each_field(centre):
    room = InfusionRoom(centre=centre, name="Room 9", slot_times=["8:30"], weekdays=[9])
    with pytest.raises(ValidationError) as refused:
        room.full_clean()
    assert "'8:30' is not a time as HH:MM" in refused.value.message_dict["slot_times"][0]
    assert "9 is not a weekday" in refused.value.message_dict["weekdays"][0]
    empty = InfusionRoom(centre=centre, name="Room 10", slot_times=[], weekdays=[])
    with pytest.raises(ValidationError) as refused:
        empty.full_clean()
    assert set(refused.value.message_dict) == {"slot_times", "weekdays"}
    empty.active = False
    empty.full_clean()  # a room that no longer infuses may keep no slots


def test_the_admin_form_shows_a_bad_setting_beside_its_field(client, administrator, centre):
    client.force_login(administrator)
    response = client.post(reverse("admin:prrt_infusionroom_add"), {
        "centre": centre.pk, "name": "Room 3", "active": "on", "slot_times": '["8:30"]',
        "weekdays": "[0, 1]"})
    assert response.status_code == 200
    assert "is not a time as HH:MM" in str(response.context["adminform"].form.errors["slot_times"])
    assert not InfusionRoom.objects.filter(name="Room 3").exists()


# --- free slots --------------------------------------------------------------------------------


def test_free_slots_are_on_the_rooms_weekdays_by_day_time_and_room(centre, rooms):
    with assert_queries(3):  # the rooms, the closures, the bookings
        slots = free_slots(centre, MON - days(1), MON + days(6))
    assert {s.day for s in slots} == {MON, TUE, WED, THU}  # not Friday to Sunday
    assert len(slots) == 16
    assert slots_of(slots[:4]) == [("Room 1", MON, AM), ("Room 2", MON, AM),
                                   ("Room 1", MON, PM), ("Room 2", MON, PM)]
    assert [s.index for s in slots[:4]] == [0, 0, 1, 1]


def test_free_slots_take_as_many_queries_for_a_day_as_for_two_months(centre, rooms):
    with assert_queries(3):
        assert len(free_slots(centre, MON, MON)) == 4
    with assert_queries(3):
        assert len(free_slots(centre, MON, MON + days(59))) == 36 * 4  # 36 days Mon-Thu
    assert free_slots(centre, TUE, MON) == []


@pytest.mark.parametrize(("closed", "which", "gone"), [
    ((TUE, WED), None, {("Room 1", TUE), ("Room 2", TUE), ("Room 1", WED), ("Room 2", WED)}),
    ((MON - days(7), MON - days(1)), None, set()),  # ends the day before
    ((FRI, FRI + days(10)), None, {(r, d + days(7)) for r in ("Room 1", "Room 2")
                                   for d in (MON, TUE, WED, THU)}),  # from Friday
    ((THU, THU), "Room 2", {("Room 2", THU)}),
    ((MON, MON + days(30)), "Room 1", {("Room 1", MON + days(n)) for n in range(14)
                                       if n % 7 < 4}),
])
def test_closed_days_have_no_free_slot(centre, rooms, closed, which, gone):
    room = {r.name: r for r in rooms}.get(which)
    InfusionClosure.objects.create(centre=centre, room=room, start_date=closed[0],
                                   end_date=closed[1], reason="Servicing")
    everything = {(r, MON + days(n)) for r in ("Room 1", "Room 2") for n in range(14)
                  if n % 7 < 4}
    slots = free_slots(centre, MON, MON + days(13))
    assert {(s.room.name, s.day) for s in slots} == everything - gone


def test_another_centres_rooms_and_closures_change_nothing(centre, rooms, other_centre):
    make_room(other_centre, "Room 1")
    InfusionClosure.objects.create(centre=other_centre, start_date=MON, end_date=THU)
    assert {s.room.centre_id for s in free_slots(centre, MON, THU)} == {centre.pk}
    assert len(free_slots(centre, MON, THU)) == 16


def test_inactive_rooms_and_unreadable_settings_offer_nothing(centre, rooms):
    InfusionRoom.objects.filter(pk=rooms[1].pk).update(active=False)
    make_room(centre, "Room 3", active=True)
    InfusionRoom.objects.filter(name="Room 3").update(slot_times=["8h30"])
    assert {s.room.name for s in free_slots(centre, MON, THU)} == {"Room 1"}


def test_a_booked_slot_is_not_free(course, rooms, navigator, centre):
    book(navigator, course, 1, rooms[0], MON, 1)
    assert ("Room 1", MON, PM) not in slots_of(free_slots(centre, MON, MON))
    assert len(free_slots(centre, MON, MON)) == 3


# --- the days a cycle may be booked on --------------------------------------------------------


def test_cycle_1_from_today_until_two_weeks_after_its_planned_day(course):
    # On 17 Dec the washout after the injection of 27 Nov still runs: from 25 Dec.
    assert bookable_days(cycle(course, 1), D(2024, 12, 17)) == (D(2024, 12, 25), C1 + days(14))
    assert bookable_days(cycle(course, 1), D(2024, 12, 26)) == (D(2024, 12, 26), C1 + days(14))
    assert bookable_days(cycle(course, 1), C1 + days(3)) == (C1 + days(3), C1 + days(17))


@pytest.mark.parametrize(("today", "window"), [
    (D(2024, 12, 17), (C1 + days(49), C1 + days(63))),
    (C1 + days(49), (C1 + days(49), C1 + days(63))),
    (C1 + days(50), (C1 + days(50), C1 + days(63))),  # never in the past
    (C1 + days(64), (C1 + days(64), C1 + days(63))),  # none left
])
def test_cycle_2_from_49_to_63_days_after_the_previous_dose(course, today, window):
    assert bookable_days(cycle(course, 2), today) == window


@pytest.mark.parametrize(("last_injection", "start"), [
    (C1 + days(20), C1 + days(49)),  # 28 days after it is day 48: the window decides
    (C1 + days(21), C1 + days(49)),  # day 49: both
    (C1 + days(22), C1 + days(50)),  # day 50: the washout decides
])
def test_not_before_the_long_acting_ssa_washout(course, last_injection, start):
    course.patient.__class__.objects.filter(pk=course.patient_id).update(
        last_long_acting_ssa_on=last_injection)
    assert bookable_days(cycle(course, 2), D(2024, 12, 17)) == (start, C1 + days(63))


def test_the_offer_lists_the_free_slots_of_the_window_and_of_a_day_asked_for(course, rooms):
    offer = slot_offer(cycle(course, 2), D(2024, 12, 17))
    assert (offer.start, offer.end) == (D(2025, 2, 24), D(2025, 3, 10))
    assert {s.day for s in offer.slots} == {D(2025, 2, 24) + days(n) for n in range(15)
                                            if n % 7 < 4}
    assert len(offer.slots) == 9 * 4
    outside = slot_offer(cycle(course, 2), D(2024, 12, 17), day=D(2025, 3, 17))
    assert len(outside.slots) == 10 * 4
    assert [s.day for s in outside.by_day()[-1][1]] == [D(2025, 3, 17)] * 4


# --- booking into a slot -----------------------------------------------------------------------


def test_booking_takes_a_slot_whose_room_and_time_are_the_place_and_time(
        course, rooms, navigator, centre, django_capture_on_commit_callbacks):
    book(navigator, course, 1, rooms[0], C1, 0, capture=django_capture_on_commit_callbacks)
    c1 = cycle(course, 1)
    assert (c1.booked_date, c1.booked_time, c1.booked_place) == (C1, AM, "Room 1")
    assert c1.planned_date == C1
    held = InfusionSlotBooking.objects.get(cycle=c1)
    assert (held.room, held.day, held.slot) == (rooms[0], C1, 0)
    event = CourseEvent.objects.get(cycle=c1, transition="book")
    assert event.actor == navigator
    assert event.reason == "Infusion booked for 06 Jan 2025 (Room 1 at 08:30)."
    created = AuditEvent.objects.get(object_type="prrt.InfusionSlotBooking",
                                     action=AuditEvent.Action.CREATE)
    assert created.actor == navigator and created.patient_id == course.patient.external_id
    assert ("Room 1", C1, AM) not in slots_of(free_slots(centre, C1, C1))


def test_a_time_and_place_given_with_a_slot_are_the_slots(course, rooms, navigator):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1, booked_time=dt.time(10),
               place="Day unit", slot=key(rooms[1], C1, 1))
    c1 = cycle(course, 1)
    assert (c1.booked_time, c1.booked_place) == (PM, "Room 2")


def closed_monday(centre, rooms):
    InfusionClosure.objects.create(centre=centre, room=rooms[0], start_date=C1, end_date=C1,
                                   reason="Bank holiday")


@pytest.mark.parametrize(("problem", "message"), [
    ("no slot", "Choose a free infusion slot."),
    ("a Friday", "Room 1 does not infuse on Fridays: choose another slot."),
    ("closed", "Room 1 is closed on 06 Jan 2025 (Bank holiday): choose another slot."),
    ("inactive", "Room 1 no longer infuses: choose another slot."),
    ("another centre's room", "Choose a free infusion slot. That room is not one of the "
                              "centre's."),
    ("no such slot", "Choose a free infusion slot."),
    ("another day", "That slot is on 07 Jan 2025, not on the infusion day (06 Jan 2025): "
                    "choose a free infusion slot."),
])
def test_a_booking_needs_a_free_slot_of_the_centre_on_that_day(
        course, rooms, navigator, centre, other_centre, problem, message):
    room = rooms[0]
    day, index, slot = C1, 0, None
    if problem == "a Friday":
        day = FRI
    elif problem == "closed":
        closed_monday(centre, rooms)
    elif problem == "inactive":
        InfusionRoom.objects.filter(pk=room.pk).update(active=False)
    elif problem == "another centre's room":
        room = make_room(other_centre, "Room 1")
    elif problem == "no such slot":
        index = 2
    if problem != "no slot":
        slot = key(room, TUE if problem == "another day" else day, index)
    with pytest.raises(TransitionInvalid) as refused:
        cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=day, slot=slot)
    assert (refused.value.field, refused.value.message) == ("slot", message)
    assert cycle(course, 1).booked_date is None
    assert not InfusionSlotBooking.objects.exists()


def test_a_slot_another_cycle_holds_is_a_conflict(course, other_course, rooms, navigator):
    book(navigator, other_course, 1, rooms[0], C1, 0)
    with pytest.raises(TransitionConflict) as refused:
        book(navigator, course, 1, rooms[0], C1, 0)
    assert (refused.value.field, refused.value.message, refused.value.status) == (
        "slot", SLOT_TAKEN, 409)
    assert cycle(course, 1).booked_date is None
    assert InfusionSlotBooking.objects.get().cycle == cycle(other_course, 1)


def test_rebooking_moves_the_slot(course, rooms, navigator, centre):
    book(navigator, course, 1, rooms[0], C1, 0)
    book(navigator, course, 1, rooms[1], TUE, 1, reason="The patient asked for the afternoon.")
    c1 = cycle(course, 1)
    [held] = InfusionSlotBooking.objects.all()
    assert (held.cycle, held.room, held.day, held.slot) == (c1, rooms[1], TUE, 1)
    assert (c1.booked_date, c1.booked_time, c1.booked_place) == (TUE, PM, "Room 2")
    assert ("Room 1", C1, AM) in slots_of(free_slots(centre, C1, C1))
    event = CourseEvent.objects.get(cycle=c1, transition="rebook")
    assert event.reason == ("Infusion rebooked for 07 Jan 2025 (Room 2 at 13:00): The patient "
                            "asked for the afternoon.")
    moved = AuditEvent.objects.get(object_type="prrt.InfusionSlotBooking",
                                   action=AuditEvent.Action.UPDATE)
    assert moved.changes["day"] == ["2025-01-06", "2025-01-07"]
    assert moved.changes["slot"] == [0, 1]


def test_rebooking_into_the_slot_it_holds_keeps_it(course, rooms, navigator):
    book(navigator, course, 1, rooms[0], C1, 0)
    held = InfusionSlotBooking.objects.get()
    book(navigator, course, 1, rooms[0], C1, 0, reason="Confirmed by phone.")
    assert InfusionSlotBooking.objects.get() == held


def test_a_released_later_booking_frees_its_slot(course, rooms, navigator, centre,
                                                 django_capture_on_commit_callbacks):
    book(navigator, course, 2, rooms[0], C2, 0, capture=django_capture_on_commit_callbacks)
    # Cycle 1 moves to 20 Jan: cycle 2's booking is then 42 days after it and is released.
    result = book(navigator, course, 1, rooms[1], D(2025, 1, 20), 0,
                  capture=django_capture_on_commit_callbacks)
    assert any("Cycle 2's booking of 03 Mar 2025 was released" in w for w in result.warnings)
    c2 = cycle(course, 2)
    assert c2.booked_date is None
    assert not InfusionSlotBooking.objects.filter(cycle=c2).exists()
    assert ("Room 1", C2, AM) in slots_of(free_slots(centre, C2, C2))
    event = CourseEvent.objects.get(cycle=c2, transition="release_booking")
    assert event.reason.endswith("Slot freed: Room 1 at 08:30 on Mon 03 Mar 2025.")
    freed = AuditEvent.objects.get(object_type="prrt.InfusionSlotBooking",
                                   action=AuditEvent.Action.DELETE)
    assert freed.actor == navigator and freed.patient_id == course.patient.external_id


def test_withholding_the_cycle_frees_its_slot(course, rooms, navigator, specialist, centre,
                                              time_machine, django_capture_on_commit_callbacks):
    book(navigator, course, 1, rooms[0], C1, 0, capture=django_capture_on_commit_callbacks)
    move(time_machine, C1 - days(2))
    enter_labs(specialist, course.patient, C1 - days(2))
    ready = services.cycle_refresh(cycle=cycle(course, 1), today=C1 - days(2))
    assert ready.state == CycleState.READY
    with django_capture_on_commit_callbacks(execute=True):
        services.cycle_decide(actor=specialist, cycle=ready, decision="withhold",
                              categories=["thrombocytopenia"], today=C1 - days(2),
                              reason="Platelets falling on the last two counts.")
    assert not InfusionSlotBooking.objects.exists()
    assert ("Room 1", C1, AM) in slots_of(free_slots(centre, C1, C1))
    event = CourseEvent.objects.get(transition="release_slot")
    assert event.actor is None and (event.source, event.target) == ("withheld", "withheld")
    assert event.reason == ("Infusion slot freed (Room 1 at 08:30 on Mon 06 Jan 2025): the "
                            "cycle was withheld.")
    freed = AuditEvent.objects.get(object_type="prrt.InfusionSlotBooking",
                                   action=AuditEvent.Action.DELETE)
    assert freed.actor is None and freed.by_system


def test_discontinuing_the_course_frees_the_slots_of_its_cancelled_cycles(
        course, rooms, navigator, specialist, django_capture_on_commit_callbacks):
    book(navigator, course, 1, rooms[0], C1, 0, capture=django_capture_on_commit_callbacks)
    book(navigator, course, 2, rooms[0], C2, 1, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.cycle_decide(actor=specialist, cycle=cycle(course, 1), decision="discontinue",
                              today=D(2024, 12, 17), reason="The patient declined PRRT.")
    assert cycle(course, 1).state == CycleState.CANCELLED
    assert not InfusionSlotBooking.objects.exists()
    assert CourseEvent.objects.filter(transition="release_slot", actor=None).count() == 2


def test_a_centre_without_rooms_books_the_day_time_and_place_as_given(course, navigator):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1, booked_time=dt.time(10),
               place="Day unit 3")
    c1 = cycle(course, 1)
    assert (c1.booked_time, c1.booked_place) == (dt.time(10), "Day unit 3")
    assert not InfusionSlotBooking.objects.exists()
    with pytest.raises(TransitionInvalid) as refused:
        cycle_book(actor=navigator, cycle=c1, booked_date=C1,
                   slot=SlotKey(c1.external_id, C1, 0))
    assert refused.value.field == "slot"


def test_a_centre_whose_rooms_no_longer_infuse_books_as_given(course, rooms, navigator):
    InfusionRoom.objects.update(active=False)
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1, place="Day unit 3")
    assert cycle(course, 1).booked_place == "Day unit 3"


# --- the booking form on the cycle page ---------------------------------------------------------


def page(client, user, course, number: int):
    client.force_login(user)
    return reverse("prrt:cycle", args=[cycle(course, number).external_id])


def test_the_cycle_page_offers_the_free_slots_of_the_days_the_rules_allow(
        client, course, other_course, rooms, navigator):
    book(navigator, other_course, 2, rooms[0], D(2025, 2, 24), 0)
    response = client.get(page(client, navigator, course, 2))
    assert response.status_code == 200
    offered = [slot.key for slot in response.context["slot_offer"].slots]
    assert len(offered) == 9 * 4 - 1
    assert key(rooms[0], D(2025, 2, 24), 0) not in offered
    assert min(k.day for k in offered) == D(2025, 2, 24)
    assert max(k.day for k in offered) == D(2025, 3, 10)
    html = response.content.decode()
    assert "<legend>Free infusion slot</legend>" in html
    assert "<legend>Mon 24 Feb 2025</legend>" in html
    assert f'value="{key(rooms[1], D(2025, 3, 10), 1)}"' in html
    assert 'name="booked_time"' not in html and 'name="place"' not in html


def test_a_centre_without_rooms_keeps_its_booking_form(client, course, navigator):
    response = client.get(page(client, navigator, course, 2))
    assert "slot_offer" not in response.context
    assert 'name="place"' in response.content.decode()


def test_booking_a_slot_from_the_page(client, course, rooms, navigator):
    url = page(client, navigator, course, 2)
    response = client.post(f"{url}book/", {"slot": str(key(rooms[1], C2, 1))})
    assert response.status_code == 302
    c2 = cycle(course, 2)
    assert (c2.booked_date, c2.booked_time, c2.booked_place) == (C2, PM, "Room 2")
    assert "Cycle 2 booked for 03 Mar 2025 at 13:00, Room 2." in [
        str(m) for m in client.get(url).context["messages"]]


@pytest.mark.parametrize(("post", "status", "error"), [
    ({}, 400, "Choose a free infusion slot."),
    ({"slot": "Room 1 at 08:30"}, 400, "Choose a free infusion slot."),
    ({"slot": "not-a-uuid_2025-03-03_0"}, 400, "Choose a free infusion slot."),
    ({"slot": "taken"}, 409, SLOT_TAKEN),
    ({"booked_date": "2025-03-17", "reason": REASON}, 400, "Choose a free infusion slot."),
])
def test_a_missing_bad_or_taken_slot_is_refused_beside_the_field(
        client, course, other_course, rooms, navigator, post, status, error):
    book(navigator, other_course, 2, rooms[0], C2, 0)
    if post.get("slot") == "taken":
        post = {"slot": str(key(rooms[0], C2, 0))}
    url = page(client, navigator, course, 2)
    response = client.post(f"{url}book/", post)
    assert response.status_code == status
    assert response.context["booking_form"].errors["slot"] == [error]
    assert f'id="id_slot_error"><p class="field-error" role="alert">{error}' \
        in response.content.decode()
    assert cycle(course, 2).booked_date is None


def test_outside_the_window_the_days_slots_are_offered_then_booked_with_the_reason(
        client, course, rooms, navigator):
    url = page(client, navigator, course, 2)
    asked = client.post(f"{url}book/", {"booked_date": "2025-03-17", "reason": REASON})
    assert asked.status_code == 400
    monday = [k for k in (s.key for s in asked.context["slot_offer"].slots)
              if k.day == D(2025, 3, 17)]
    assert monday == [key(rooms[0], D(2025, 3, 17), 0), key(rooms[1], D(2025, 3, 17), 0),
                      key(rooms[0], D(2025, 3, 17), 1), key(rooms[1], D(2025, 3, 17), 1)]
    without_reason = client.post(f"{url}book/", {"slot": str(monday[0])})
    assert without_reason.status_code == 400
    assert "give a reason" in without_reason.context["booking_form"].errors["reason"][0]
    booked = client.post(f"{url}book/", {"booked_date": "2025-03-17", "reason": REASON,
                                         "slot": str(monday[0])})
    assert booked.status_code == 302
    c2 = cycle(course, 2)
    assert (c2.booked_date, c2.booked_outside_interval, c2.booked_reason) == (
        D(2025, 3, 17), True, REASON)


# --- two navigators racing for one slot ----------------------------------------------------------


def second_navigator(centre):
    return UserFactory(username="navigator2", role=Role.NAVIGATOR, centre=centre)


@pytest.mark.django_db(transaction=True)
def test_two_navigators_racing_for_one_slot_one_books_one_is_told(
        course, other_course, rooms, navigator, centre):
    other = second_navigator(centre)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def race(name, user, racing_course):
        try:
            barrier.wait(timeout=10)
            book(user, racing_course, 1, rooms[0], C1, 0)
            outcomes[name] = "booked"
        except TransitionConflict as exc:
            outcomes[name] = exc.message
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=("first", navigator, course)),
               threading.Thread(target=race, args=("second", other, other_course))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == sorted(["booked", SLOT_TAKEN])
    [held] = InfusionSlotBooking.objects.all()
    winner = course if outcomes["first"] == "booked" else other_course
    loser = other_course if winner is course else course
    assert held.cycle == cycle(winner, 1)
    assert cycle(loser, 1).booked_date is None
    assert not CourseEvent.objects.filter(course=loser, transition="book").exists()


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh inside a transaction too
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_slot_booked_in_a_transaction_not_yet_committed(
        course, other_course, rooms, navigator, centre):
    """The first booking is made and not yet committed when the second looks: the slot seems
    free to it, and the database's constraint refuses it once the first commits."""
    other = second_navigator(centre)
    first_booked, outcome = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                book(navigator, course, 1, rooms[0], C1, 0)
                first_booked.set()
                deadline = time.monotonic() + 20
                while not waiting_on_a_lock() and time.monotonic() < deadline:
                    time.sleep(0.05)
                outcome["second waited"] = waiting_on_a_lock() > 0
        finally:
            connection.close()

    def second():
        try:
            first_booked.wait(timeout=20)
            book(other, other_course, 1, rooms[0], C1, 0)
            outcome["second"] = "booked"
        except TransitionConflict as exc:
            outcome["second"] = exc.message
            outcome["cause"] = type(exc.__cause__)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcome == {"second waited": True, "second": SLOT_TAKEN, "cause": IntegrityError}
    assert InfusionSlotBooking.objects.get().cycle == cycle(course, 1)
    assert cycle(other_course, 1).booked_date is None



# --- the REST API books a slot too ------------------------------------------------------------


def test_the_api_books_a_free_slot_and_names_a_bad_one(course, rooms, navigator):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(navigator)
    cycle = course.cycles.get(number=1)
    url = f"/api/v1/cycles/{cycle.external_id}/reschedule/"
    missing = client.post(url, {"planned_date": "2025-01-06"}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "slot"
    bad = client.post(url, {"planned_date": "2025-01-06", "slot": "room-7"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "slot"
    key = f"{rooms[0].external_id}_2025-01-06_1"
    booked = client.post(url, {"planned_date": "2025-01-06", "slot": key}, format="json")
    assert booked.status_code == 200, booked.json()
    cycle.refresh_from_db()
    assert (cycle.booked_date, cycle.booked_time, cycle.booked_place) == (
        C1, PM, rooms[0].name)
    assert cycle.slot_booking.slot == 1


# --- a withheld cycle may be booked up to the 16-week limit ----------------------------------


@pytest.mark.parametrize(("mode", "last_day"), [
    ("from_due_date", D(2025, 6, 22)),  # due 3 Mar + 111 days: day 112 discontinues
    ("interval", D(2025, 4, 28)),       # 6 Jan + 112 days: a longer interval discontinues
])
def test_a_withheld_cycle_is_offered_days_up_to_the_sixteen_week_limit(
        course, navigator, specialist, centre, time_machine, mode, last_day):
    from prrt.capacity import bookable_days
    from tests.prrt.builders import give

    centre.rules_settings = {"sixteen_week_mode": mode}
    centre.save()
    move(time_machine, C1 - days(3))
    enter_labs(specialist, course.patient, C1 - days(3))
    ready = services.cycle_refresh(cycle=cycle(course, 1), today=C1 - days(3))
    services.cycle_decide(actor=specialist, cycle=ready, decision="approve",
                          activity_gbq=Decimal("7.4"), today=C1 - days(3))
    move(time_machine, C1, 17)
    give(navigator, cycle(course, 1), C1)
    move(time_machine, C2 - days(2))
    enter_labs(specialist, course.patient, C2 - days(2), platelets=("60", "10^9/L"))
    ready = services.cycle_refresh(cycle=cycle(course, 2), today=C2 - days(2))
    services.cycle_decide(actor=specialist, cycle=ready, decision="withhold",
                          categories=["thrombocytopenia"], today=C2 - days(2))
    assert bookable_days(cycle(course, 2), C2 - days(2)) == (C2 - days(2), last_day)
