"""The centre's weekly infusion calendar (/prrt/infusions/): who may open it, what it shows, the
audit row naming the patients shown, and a constant number of queries whatever the bookings.

Today is Wednesday 5 March 2025 at the centre (London); week 2025-W10 runs from Monday 3 to
Sunday 9 March. The centre has Room 1 and Room 2, each with slots at 08:30 and 13:00, Monday to
Thursday."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from netcare.models import AuditEvent
from prrt.models import (
    Cycle,
    CycleState,
    DoseOrder,
    DoseOrderState,
    InfusionClosure,
    InfusionRoom,
    InfusionSlotBooking,
    Supplier,
    TreatmentCourse,
)
from referrals.models import ReferralState
from tests.factories import PatientFactory, ReferralFactory
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db

D = dt.date
MON, TUE, WED, THU = (D(2025, 3, 3 + n) for n in range(4))


def url(**query) -> str:
    path = reverse("prrt:infusion-calendar")
    return f"{path}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else path


@pytest.fixture(autouse=True)
def wednesday(time_machine):
    time_machine.move_to(dt.datetime(2025, 3, 5, 10, tzinfo=dt.UTC), tick=False)


def make_room(centre, name, weekdays=(0, 1, 2, 3), **extra) -> InfusionRoom:
    return InfusionRoom.objects.create(centre=centre, name=name, slot_times=["08:30", "13:00"],
                                       weekdays=list(weekdays), **extra)


@pytest.fixture
def rooms(centre):
    return make_room(centre, "Room 1"), make_room(centre, "Room 2")


def booked(centre, oncologist, room, day, slot, *, number=1, patient_centre=None,
           state=CycleState.PLANNED) -> Cycle:
    """A cycle of a new patient's course, booked into `room`'s slot on `day` (written as it
    would stand: the page only reads it)."""
    patient = PatientFactory(centre=patient_centre or centre, referring_oncologist=oncologist)
    referral = ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    course = TreatmentCourse.objects.create(patient=patient, referral=referral, centre=centre,
                                            planned_first_dose=day)
    cycle = Cycle.objects.create(course=course, number=number, due_date=day, planned_date=day,
                                 booked_date=day, state=state)
    InfusionSlotBooking.objects.create(room=room, day=day, slot=slot, cycle=cycle)
    return cycle


def order(cycle, state: str) -> DoseOrder:
    supplier, _ = Supplier.objects.get_or_create(centre=cycle.course.centre,
                                                 name="Radiopharmacy")
    return DoseOrder.objects.create(
        cycle=cycle, supplier=supplier, state=state, activity_gbq=Decimal("7.4"),
        calibration_at=dt.datetime.combine(cycle.booked_date, dt.time(8), tzinfo=dt.UTC))


def cell(response, room: str, start: str, day: dt.date):
    grid = response.context["grid"]
    [row] = [r for r in grid.rows if r.room.name == room and f"{r.start:%H:%M}" == start]
    return row.cells[grid.days.index(day)]


# --- who may open it ---------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("navigator", 200), ("specialist", 200),
                                              ("oncologist", 403), ("administrator", 403)])
def test_only_the_centres_navigators_and_specialists_open_it(client, request, rooms, who,
                                                              status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(url()).status_code == status


def test_signed_out_it_asks_to_sign_in(client, rooms):
    response = client.get(url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_centres_navigator_sees_their_own_centre(client, centre, rooms, oncologist,
                                                         outside_navigator, other_centre):
    ours = booked(centre, oncologist, rooms[0], MON, 0)
    make_room(other_centre, "Elsewhere room")
    client.force_login(outside_navigator)
    response = client.get(url())
    assert response.status_code == 200
    assert [row.room.name for row in response.context["grid"].rows] == ["Elsewhere room"] * 2
    assert ours.course.patient.family_name not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LIST).exists()


def test_a_booked_patient_the_viewer_may_not_see_is_shown_as_booked_only(
        client, centre, rooms, oncologist, navigator, other_centre):
    hidden = booked(centre, oncologist, rooms[0], MON, 0, patient_centre=other_centre)
    client.force_login(navigator)
    response = client.get(url())
    shown = cell(response, "Room 1", "08:30", MON)
    assert (shown.kind, shown.visible) == ("booked", False)
    assert hidden.course.patient.family_name not in response.content.decode()


# --- what it shows -------------------------------------------------------------------------------


def test_the_week_grid_rooms_slots_days_bookings_orders_closures(client, centre, rooms,
                                                                   oncologist, navigator):
    first = booked(centre, oncologist, rooms[0], MON, 0, state=CycleState.ADMINISTERED)
    order(first, DoseOrderState.RECEIVED)
    second = booked(centre, oncologist, rooms[1], WED, 1, number=2)
    third = booked(centre, oncologist, rooms[0], WED, 0)
    order(third, DoseOrderState.ORDERED)
    booked(centre, oncologist, rooms[0], MON + dt.timedelta(days=7), 0)  # next week
    InfusionClosure.objects.create(centre=centre, start_date=THU, end_date=THU,
                                   reason="Bank holiday")
    InfusionClosure.objects.create(centre=centre, room=rooms[1], start_date=TUE, end_date=TUE,
                                   reason="Servicing")
    client.force_login(navigator)
    response = client.get(url(week="2025-W10"))
    assert response.status_code == 200
    grid = response.context["grid"]
    assert grid.days == [MON, TUE, WED, THU]
    assert [(r.room.name, f"{r.start:%H:%M}") for r in grid.rows] == [
        ("Room 1", "08:30"), ("Room 1", "13:00"), ("Room 2", "08:30"), ("Room 2", "13:00")]
    assert (cell(response, "Room 1", "08:30", MON).booking.cycle,
            cell(response, "Room 1", "08:30", MON).order) == (first, "dose received")
    assert cell(response, "Room 2", "13:00", WED).order == "no order"
    assert cell(response, "Room 1", "08:30", WED).order == "dose ordered"
    assert [cell(response, "Room 1", "13:00", day).kind for day in grid.days] == [
        "past", "past", "free", "closed"]
    assert [cell(response, "Room 2", "08:30", day).kind for day in grid.days] == [
        "past", "closed", "free", "closed"]
    html = response.content.decode()
    patient = second.course.patient
    link = reverse("prrt:cycle", args=[second.external_id])
    assert f'<a href="{link}">{patient.family_name}, {patient.given_name}</a><br>cycle 2' in html
    assert "cycle 1, given" in html
    assert html.count("Closed (Bank holiday)") == 4 and html.count("Closed (Servicing)") == 2
    assert html.count(">Free</td>") == 2
    assert ("<caption id=\"calendar-caption\">Riverside NET Centre: infusions from Monday 3 "
            "March to Sunday 9 March 2025 (week 2025-W10)</caption>") in html
    assert html.count('<th scope="col"') == 5 and html.count('<th scope="row">') == 4
    assert 'aria-current="date"><time datetime="2025-03-05">Wed 5 Mar</time>' in html


@pytest.mark.parametrize(("states", "said"), [
    ([], "no order"),
    ([DoseOrderState.TO_ORDER], "dose to order"),
    ([DoseOrderState.CONFIRMED], "dose confirmed"),
    ([DoseOrderState.CANCELLED], "dose cancelled"),
    ([DoseOrderState.CANCELLED, DoseOrderState.ORDERED], "dose ordered"),
    ([DoseOrderState.CONFIRMED, DoseOrderState.CANCELLED], "dose confirmed"),
    ([DoseOrderState.WASTED, DoseOrderState.CANCELLED], "dose cancelled"),
])
def test_the_dose_order_shown_is_the_live_one_else_the_latest(client, centre, rooms, oncologist,
                                                              navigator, states, said):
    cycle = booked(centre, oncologist, rooms[0], THU, 1)
    for state in states:
        order(cycle, state)
    client.force_login(navigator)
    assert cell(client.get(url()), "Room 1", "13:00", THU).order == said


def test_days_only_where_a_room_infuses_and_an_inactive_rooms_bookings_stay(
        client, centre, oncologist, navigator):
    monday_only = make_room(centre, "Room A", weekdays=[0])
    make_room(centre, "Room B", weekdays=[0, 1])
    gone = make_room(centre, "Room C", active=False)
    make_room(centre, "Room D", active=False)
    kept = booked(centre, oncologist, gone, THU, 1)
    client.force_login(navigator)
    response = client.get(url())
    grid = response.context["grid"]
    assert grid.days == [MON, TUE, THU]
    assert [r.room.name for r in grid.rows] == ["Room A", "Room A", "Room B", "Room B",
                                                "Room C", "Room C"]
    assert cell(response, "Room A", "08:30", TUE).kind == "off"
    assert cell(response, "Room C", "13:00", THU).booking.cycle == kept
    assert cell(response, "Room C", "08:30", THU).kind == "off"
    assert monday_only.name in response.content.decode()


def test_a_centre_without_rooms_says_so(client, navigator):
    client.force_login(navigator)
    response = client.get(url())
    assert response.status_code == 200
    assert response.context["grid"].days == [MON, TUE, WED, THU, D(2025, 3, 7)]
    assert "The centre has no infusion rooms" in response.content.decode()


# --- weeks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "utc", "week"), [
    ("Europe/London", dt.datetime(2025, 3, 9, 23, 30), "2025-W10"),
    ("Pacific/Auckland", dt.datetime(2025, 3, 9, 23, 30), "2025-W11"),  # Monday there
    ("America/Los_Angeles", dt.datetime(2025, 3, 10, 6, 30), "2025-W10"),  # still Sunday
])
def test_this_week_is_the_centres(client, time_machine, centre, navigator, rooms, zone, utc,
                                  week):
    type(centre).objects.filter(pk=centre.pk).update(time_zone=zone)
    time_machine.move_to(utc.replace(tzinfo=dt.UTC), tick=False)
    client.force_login(navigator)
    response = client.get(url())
    assert response.context["week"] == week


@pytest.mark.parametrize(("week", "monday", "previous", "following"), [
    ("2025-W10", MON, "2025-W09", "2025-W11"),
    ("2025-W01", D(2024, 12, 30), "2024-W52", "2025-W02"),
    ("2020-W53", D(2020, 12, 28), "2020-W52", "2021-W01"),
])
def test_previous_and_next_weeks(client, navigator, rooms, week, monday, previous, following):
    client.force_login(navigator)
    response = client.get(url(week=week))
    assert response.status_code == 200
    assert response.context["grid"].monday == monday
    html = response.content.decode()
    assert f'href="?week={previous}" rel="prev"' in html
    assert f'href="?week={following}" rel="next"' in html
    # A link back to this week, except on this week.
    assert ('href="?week=2025-W10">This week</a>' in html) == (week != "2025-W10")


@pytest.mark.parametrize("week", ["2025-10", "2025-W00", "2025-W1", "2021-W53", "W10",
                                  "1899-W10", "2025-W10x"])
def test_a_bad_week_is_a_400_naming_the_field(client, navigator, rooms, week):
    client.force_login(navigator)
    response = client.get(url(week=week))
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["week"]
    assert 'id="id_week_error"' in response.content.decode()


# --- the audit trail and the queries ---------------------------------------------------------


def test_it_is_audited_naming_the_patients_shown(client, centre, rooms, oncologist, navigator):
    shown = [booked(centre, oncologist, rooms[0], MON, 0), booked(centre, oncologist, rooms[1],
                                                                  THU, 1)]
    booked(centre, oncologist, rooms[0], MON + dt.timedelta(days=7), 0)  # another week
    client.force_login(navigator)
    client.get(url())
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.LIST, note="infusion-calendar")
    assert event.actor == navigator
    assert {str(p) for p in event.patients.values_list("patient_id", flat=True)} == {
        str(c.course.patient.external_id) for c in shown}


def test_a_week_without_bookings_names_no_one(client, rooms, navigator):
    client.force_login(navigator)
    client.get(url())
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LIST).exists()


def test_as_many_queries_for_1_booking_as_for_10(client, centre, rooms, oncologist, navigator):
    first = booked(centre, oncologist, rooms[0], MON, 0)
    order(first, DoseOrderState.ORDERED)
    InfusionClosure.objects.create(centre=centre, start_date=THU, end_date=THU)

    def grow():
        for n, (room, day, slot) in enumerate(
                [(r, d, s) for r in rooms for d in (MON, TUE, WED) for s in (0, 1)][1:10]):
            cycle = booked(centre, oncologist, room, day, slot)
            if n % 2:
                order(cycle, DoseOrderState.CONFIRMED)

    def load():
        response = client.get(url())
        assert response.status_code == 200
        return response

    client.force_login(navigator)
    response = assert_constant_queries(load, grow=grow)
    assert len(response.context["grid"].patients) == 10


def test_the_demos_booked_cycles_hold_slots_shown_on_its_calendar(client, settings,
                                                                  time_machine):
    time_machine.move_to(dt.datetime(2025, 3, 5, 10, tzinfo=dt.UTC), tick=True)  # the demo's
    settings.DEBUG = True  # bookings follow decisions taken moments before
    call_command("seed_demo")
    booked = list(Cycle.objects.filter(booked_date__isnull=False)
                  .select_related("slot_booking__room"))
    assert len(booked) >= 2
    for cycle in booked:
        held = cycle.slot_booking
        assert held.day == cycle.booked_date and held.day.weekday() <= 3
        assert (cycle.booked_place, f"{cycle.booked_time:%H:%M}") == (
            held.room.name, ["08:30", "13:00"][held.slot])
    upcoming = max(booked, key=lambda cycle: cycle.booked_date)
    client.force_login(type(upcoming.course.patient.referring_oncologist).objects.get(
        username="navigator"))
    response = client.get(url(week=f"{upcoming.booked_date:%G-W%V}"))
    assert upcoming.course.patient.family_name in response.content.decode()
