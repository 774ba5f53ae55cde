"""Dose orders (prrt.orders): the workflow through the funnel, the charges, and the plan that
follows bookings, withholds and administrations.

The V19 course at a London centre: approved on 17 Dec 2024, cycle 1 on Monday 6 Jan 2025, cycle
2 planned on Monday 3 Mar 2025. With the default terms cycle 2's dose is ordered by Tuesday
18 Feb 2025 and cancelled free until Friday 21 Feb 2025 (cycle 1: by 24 Dec 2024, free until
27 Dec 2024).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError

from coordinators.models import CareTask, TaskKind, TaskState
from netcare.models import AuditEvent
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from prrt import orders, services
from prrt.bookings import cycle_book
from prrt.models import CourseEvent, Cycle, CycleState, DoseOrder, DoseOrderState, Supplier
from tests.factories import CentreFactory, UserFactory
from tests.prrt.builders import TZ, approved_course, at, enter_labs, give

pytestmark = pytest.mark.django_db

D = dt.date
C1 = D(2025, 1, 6)
C2 = D(2025, 3, 3)


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC), tick=False)


@pytest.fixture
def supplier(centre):
    return Supplier.objects.create(centre=centre, name="Isotope Supplies")


@pytest.fixture
def course(time_machine, centre, oncologist, specialist, navigator, supplier):
    move(time_machine, D(2024, 12, 17))
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


def cycle(course, number: int) -> Cycle:
    return Cycle.objects.select_related("course__centre").get(course=course, number=number)


def order_of(course, number: int) -> DoseOrder:
    return DoseOrder.objects.get(cycle__course=course, cycle__number=number,
                                 state__in=orders.LIVE_ORDER_STATES)


def given_cycle_1(course, specialist, navigator, time_machine, capture):
    """Cycle 1 booked, ordered, approved and given on 6 Jan; cycle 2 booked for 3 Mar."""
    with capture(execute=True):
        cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
        orders.dose_order_place(actor=navigator, order=order_of(course, 1),
                                order_number="LU-1001")
    move(time_machine, D(2025, 1, 3))
    enter_labs(specialist, course.patient, D(2025, 1, 3))
    with capture(execute=True):
        ready = services.cycle_refresh(cycle=cycle(course, 1), today=D(2025, 1, 3))
        services.cycle_decide(actor=specialist, cycle=ready, decision="approve",
                              activity_gbq=Decimal("7.4"), today=D(2025, 1, 3))
    move(time_machine, C1, 17)
    with capture(execute=True):
        give(navigator, cycle(course, 1), C1)
        move(time_machine, D(2025, 1, 20))
        cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=C2)


# --- a booking prepares the order ------------------------------------------------------------


def test_booking_prepares_the_dose_to_order_with_its_deadlines(course, navigator,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1,
                            booked_time=dt.time(9, 30))
    order = order_of(course, 1)
    assert order.state == DoseOrderState.TO_ORDER
    assert order.calibration_at == dt.datetime(2025, 1, 6, 9, 30, tzinfo=TZ)
    assert order.activity_gbq == Decimal("7.40") and order.supplier.name == "Isotope Supplies"
    assert "Cycle 1: order the dose by Tue 24 Dec 2024 (free cancellation until Fri 27 Dec " \
           "2024)." in result.warnings
    event = CourseEvent.objects.get(transition="dose_order_create")
    assert event.actor == navigator and "Order by Tue 24 Dec 2024" in event.reason
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, actor=navigator,
                                     object_type="prrt.DoseOrder").exists()
    task = CareTask.objects.get(course=course, kind=TaskKind.DOSE_ORDER, cycle=1)
    assert (task.due, task.latest, task.state) == (D(2024, 12, 24), D(2024, 12, 24),
                                                   TaskState.OPEN)
    assert "by Tue 24 Dec 2024" in task.note


def test_every_open_cycle_has_an_order_task_before_it_is_booked(course, navigator,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    tasks = {t.cycle: t for t in CareTask.objects.filter(course=course, kind=TaskKind.DOSE_ORDER)}
    assert sorted(tasks) == [1, 2, 3, 4]
    assert tasks[2].due == D(2025, 2, 18)  # planned on 3 Mar
    assert tasks[2].note.startswith("Book the infusion, then order the cycle 2 dose")


def test_no_supplier_no_order_and_no_task(course, navigator, supplier,
                                          django_capture_on_commit_callbacks):
    supplier.active = False
    supplier.save()
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    assert not DoseOrder.objects.exists()
    assert not any("order" in w for w in result.warnings)
    assert not CareTask.objects.filter(kind=TaskKind.DOSE_ORDER).exists()


def test_no_order_for_a_cycle_that_is_not_booked(course, navigator):
    with pytest.raises(TransitionInvalid) as exc:
        orders.dose_order_create(actor=navigator, cycle=cycle(course, 2))
    assert exc.value.field == "cycle"
    assert not DoseOrder.objects.exists()


def test_one_live_order_per_cycle(course, navigator, supplier):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    with pytest.raises(TransitionConflict):
        orders.dose_order_create(actor=navigator, cycle=cycle(course, 1))
    with pytest.raises(IntegrityError):
        DoseOrder.objects.create(cycle=cycle(course, 1), supplier=supplier,
                                 calibration_at=at(C1, 8), activity_gbq=Decimal("7.4"))


# --- the workflow -----------------------------------------------------------------------------


WORKFLOW = [
    # (from, step, allowed)
    (DoseOrderState.TO_ORDER, "place", True),
    (DoseOrderState.TO_ORDER, "confirm", False),
    (DoseOrderState.TO_ORDER, "receive", False),
    (DoseOrderState.TO_ORDER, "waste", False),
    (DoseOrderState.ORDERED, "confirm", True),
    (DoseOrderState.ORDERED, "receive", True),
    (DoseOrderState.ORDERED, "place", False),
    (DoseOrderState.ORDERED, "waste", False),
    (DoseOrderState.CONFIRMED, "receive", True),
    (DoseOrderState.CONFIRMED, "cancel", True),
    (DoseOrderState.RECEIVED, "waste", True),
    (DoseOrderState.RECEIVED, "cancel", False),
    (DoseOrderState.CANCELLED, "place", False),
    (DoseOrderState.WASTED, "receive", False),
]


def _do(step: str, actor, order):
    return {
        "place": lambda: orders.dose_order_place(actor=actor, order=order, order_number="LU-7"),
        "confirm": lambda: orders.dose_order_confirm(actor=actor, order=order),
        "receive": lambda: orders.dose_order_receive(actor=actor, order=order, lot_number="L42",
                                                     measured_activity_gbq="7.6"),
        "cancel": lambda: orders.dose_order_cancel(actor=actor, order=order, reason="Test."),
        "waste": lambda: orders.dose_order_waste(actor=actor, order=order, reason="Test."),
    }[step]()


def _to(state: str, order, actor):
    path = {DoseOrderState.TO_ORDER: [], DoseOrderState.ORDERED: ["place"],
            DoseOrderState.CONFIRMED: ["place", "confirm"],
            DoseOrderState.RECEIVED: ["place", "confirm", "receive"],
            DoseOrderState.CANCELLED: ["cancel"],
            DoseOrderState.WASTED: ["place", "receive", "waste"]}[state]
    for step in path:
        order = _do(step, actor, order)
    return order


@pytest.mark.parametrize(("source", "step", "allowed"), WORKFLOW)
def test_the_workflow_table(course, navigator, source, step, allowed):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    order = _to(source, order_of(course, 1) if source in orders.LIVE_ORDER_STATES
                else DoseOrder.objects.get(), navigator)
    events_before = CourseEvent.objects.count()
    if allowed:
        done = _do(step, navigator, order)
        assert done.state != source
        event = CourseEvent.objects.latest("id")
        assert (event.transition, event.source, event.target, event.actor) == (
            f"dose_order_{step}", source, done.state, navigator)
        assert AuditEvent.objects.filter(action=AuditEvent.Action.TRANSITION,
                                         object_id=str(done.external_id)).exists()
    else:
        with pytest.raises(TransitionConflict):
            _do(step, navigator, order)
        assert CourseEvent.objects.count() == events_before
        order.refresh_from_db()
        assert order.state == source


def test_only_the_centres_team_orders(course, navigator, oncologist):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    elsewhere = UserFactory(role="navigator", centre=CentreFactory(name="Elsewhere"))
    for actor in (oncologist, elsewhere):
        with pytest.raises(TransitionForbidden):
            _do("place", actor, order_of(course, 1))
    assert order_of(course, 1).state == DoseOrderState.TO_ORDER


@pytest.mark.parametrize(("field", "call"), [
    ("order_number", lambda a, o: orders.dose_order_place(actor=a, order=o, order_number=" ")),
    ("order_number", lambda a, o: orders.dose_order_place(actor=a, order=o,
                                                          order_number="x" * 61)),
    ("reason", lambda a, o: orders.dose_order_cancel(actor=a, order=o, reason="")),
])
def test_bad_input_names_its_field(course, navigator, field, call):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    with pytest.raises(TransitionInvalid) as exc:
        call(navigator, order_of(course, 1))
    assert exc.value.field == field


def test_receiving_records_lot_and_measured_activity(course, navigator):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    order = _to(DoseOrderState.CONFIRMED, order_of(course, 1), navigator)
    with pytest.raises(TransitionInvalid) as exc:
        orders.dose_order_receive(actor=navigator, order=order, lot_number="L1",
                                  measured_activity_gbq="abc")
    assert exc.value.field == "measured_activity_gbq"
    received = orders.dose_order_receive(actor=navigator, order=order, lot_number="L1",
                                         measured_activity_gbq="7.61")
    assert (received.lot_number, received.measured_activity_gbq) == ("L1", Decimal("7.61"))
    assert received.received_at is not None


# --- cancellation and waste: what they cost -----------------------------------------------------


@pytest.mark.parametrize(("today", "late", "charge"), [
    (D(2024, 12, 26), False, Decimal(0)),
    (D(2024, 12, 27), False, Decimal(0)),   # the last free day
    (D(2024, 12, 28), True, Decimal(500)),
])
def test_cancelling_is_free_until_ten_days_before(course, navigator, time_machine, today, late,
                                                  charge):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    order = _to(DoseOrderState.ORDERED, order_of(course, 1), navigator)
    move(time_machine, today, 23)  # 23:00 in London: still that day at the centre
    cancelled = orders.dose_order_cancel(actor=navigator, order=order, reason="Patient unwell.")
    assert (cancelled.state, cancelled.late, cancelled.charge) == (DoseOrderState.CANCELLED,
                                                                   late, charge)
    assert cancelled.end_reason.startswith("Patient unwell.")


def test_a_dose_not_yet_ordered_cancels_free_even_late(course, navigator, time_machine):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    move(time_machine, D(2025, 1, 5))
    cancelled = orders.dose_order_cancel(actor=navigator, order=order_of(course, 1),
                                         reason="Not needed.")
    assert (cancelled.late, cancelled.charge) == (False, Decimal(0))


@pytest.mark.parametrize(("ineligible", "charge"), [(False, Decimal(2000)), (True, Decimal(0))])
def test_a_wasted_dose_is_charged_unless_testing_made_the_patient_ineligible(
        course, navigator, ineligible, charge):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    order = _to(DoseOrderState.RECEIVED, order_of(course, 1), navigator)
    wasted = orders.dose_order_waste(actor=navigator, order=order, reason="Platelets 40.",
                                     ineligible_on_testing=ineligible)
    assert (wasted.state, wasted.charge, wasted.ineligible_on_testing) == (
        DoseOrderState.WASTED, charge, ineligible)
    costs = orders.order_costs(DoseOrder.objects.all())["USD"]
    assert (costs.wasted, costs.wasted_charges, costs.waived) == (1, charge, int(ineligible))


def test_the_costs_count_late_cancellations_and_waste(course, navigator, time_machine):
    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    order = _to(DoseOrderState.ORDERED, order_of(course, 1), navigator)
    move(time_machine, D(2024, 12, 30))
    orders.dose_order_cancel(actor=navigator, order=order, reason="Moved.")
    costs = orders.order_costs(DoseOrder.objects.all())["USD"]
    assert (costs.late_cancellations, costs.late_cancellation_charges) == (1, Decimal(500))
    assert (costs.wasted, costs.wasted_charges) == (0, Decimal(0))


# --- the plan follows ---------------------------------------------------------------------------


def test_placing_the_order_closes_its_task(course, navigator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
        order = orders.dose_order_place(actor=navigator, order=order_of(course, 1),
                                        order_number="LU-1001")
    task = CareTask.objects.get(course=course, kind=TaskKind.DOSE_ORDER, cycle=1)
    assert task.state == TaskState.DONE and task.done_by is None  # NETcare closed it
    assert task.fulfilled_by == f"prrt.DoseOrder:{order.external_id}"


def test_rebooking_moves_an_order_not_yet_placed(course, navigator, time_machine,
                                                 specialist, django_capture_on_commit_callbacks):
    given_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=C2 + dt.timedelta(
            days=7))
    order = order_of(course, 2)
    assert order.state == DoseOrderState.TO_ORDER and DoseOrder.objects.filter(
        cycle__number=2).count() == 1
    assert order.calibration_at.astimezone(TZ).date() == D(2025, 3, 10)
    assert "Cycle 2: Dose to order moved to 10 Mar 2025: order by Tue 25 Feb 2025." in (
        result.warnings)
    task = CareTask.objects.get(course=course, kind=TaskKind.DOSE_ORDER, cycle=2,
                                state=TaskState.OPEN)
    assert task.due == D(2025, 2, 25)


@pytest.mark.parametrize(("today", "late"), [(D(2025, 2, 21), False), (D(2025, 2, 22), True)])
def test_rebooking_cancels_a_placed_order_and_prepares_a_new_one(
        course, navigator, specialist, time_machine, django_capture_on_commit_callbacks,
        today, late):
    given_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        orders.dose_order_place(actor=navigator, order=order_of(course, 2), order_number="LU-2")
    move(time_machine, today)
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=D(2025, 3, 6))
    old = DoseOrder.objects.get(order_number="LU-2")
    assert (old.state, old.late, old.charge) == (DoseOrderState.CANCELLED, late,
                                                 Decimal(500) if late else Decimal(0))
    cost = "cancelled late: USD 500.00 charged" if late else "cancelled free of charge"
    assert (f"Cycle 2: the dose ordered for 03 Mar 2025 (order LU-2) was {cost}; a new dose "
            "is to order.") in result.warnings
    new = order_of(course, 2)
    assert new.state == DoseOrderState.TO_ORDER
    assert new.calibration_at.astimezone(TZ).date() == D(2025, 3, 6)
    # The first order task was met by the first order; the new dose has a task of its own.
    tasks = CareTask.objects.filter(course=course, kind=TaskKind.DOSE_ORDER, cycle=2)
    assert {(t.sequence, t.state) for t in tasks} == {(1, TaskState.DONE), (2, TaskState.OPEN)}


def _withhold_cycle_2(course, specialist, time_machine, today, **kwargs):
    move(time_machine, today)
    enter_labs(specialist, course.patient, today, platelets=("60", "10^9/L"))
    ready = services.cycle_refresh(cycle=cycle(course, 2), today=today)
    return services.cycle_decide(actor=specialist, cycle=ready, decision="withhold",
                                 today=today, **kwargs)


def test_a_withhold_before_the_free_day_cancels_free(course, navigator, specialist,
                                                      time_machine,
                                                      django_capture_on_commit_callbacks):
    given_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    orders.dose_order_place(actor=navigator, order=order_of(course, 2), order_number="LU-2")
    decision = _withhold_cycle_2(course, specialist, time_machine, D(2025, 2, 20))
    assert decision.order_notes == [
        "Cycle 2: the dose ordered for 03 Mar 2025 (order LU-2) was cancelled free of charge."]
    assert DoseOrder.objects.get(order_number="LU-2").charge == 0


def test_a_withhold_after_the_free_day_asks_to_cancel_late_or_keep(
        course, navigator, specialist, time_machine, django_capture_on_commit_callbacks):
    given_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    orders.dose_order_place(actor=navigator, order=order_of(course, 2), order_number="LU-2")
    with pytest.raises(TransitionInvalid) as exc:
        _withhold_cycle_2(course, specialist, time_machine, D(2025, 2, 26))
    assert exc.value.field == "order_action"
    assert cycle(course, 2).state != CycleState.WITHHELD  # nothing was saved
    view = orders.order_choice_needed(cycle(course, 2), today=D(2025, 2, 26))
    assert view.cancel_today.amount == Decimal(500)

    kept = _withhold_cycle_2(course, specialist, time_machine, D(2025, 2, 26),
                             order_action=orders.OrderAction.KEEP)
    assert cycle(course, 2).state == CycleState.WITHHELD
    assert kept.order_notes == ["Cycle 2: the dose ordered for 03 Mar 2025 (order LU-2) is "
                                "kept: it is charged if it is not used."]
    assert order_of(course, 2).state == DoseOrderState.ORDERED


def test_a_late_withhold_cancelled_is_charged(course, navigator, specialist, time_machine,
                                              django_capture_on_commit_callbacks):
    given_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    orders.dose_order_place(actor=navigator, order=order_of(course, 2), order_number="LU-2")
    _withhold_cycle_2(course, specialist, time_machine, D(2025, 2, 26),
                      order_action=orders.OrderAction.CANCEL)
    old = DoseOrder.objects.get(order_number="LU-2")
    assert (old.state, old.late, old.charge) == (DoseOrderState.CANCELLED, True, Decimal(500))


def test_the_administration_marks_the_dose_administered(course, navigator, specialist,
                                                         time_machine,
                                                         django_capture_on_commit_callbacks):
    given_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    order = DoseOrder.objects.get(order_number="LU-1001")
    assert order.state == DoseOrderState.ADMINISTERED
    event = CourseEvent.objects.get(transition="dose_order_administer")
    assert event.actor is None  # NETcare's own act


def test_the_labs_fall_before_the_free_cancellation_once_the_centre_orders(
        course, navigator, supplier, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        orders.supplier_saved(actor=None, supplier=supplier)
    course.centre.refresh_from_db()
    assert course.centre.rules_settings["pre_dose_labs_by_days_before"] == 11
    labs = CareTask.objects.get(course=course, kind=TaskKind.PRE_DOSE_LABS, cycle=2)
    assert (labs.earliest, labs.due, labs.latest) == (D(2025, 2, 17), D(2025, 2, 20),
                                                      D(2025, 3, 3))


def test_terms_that_leave_no_day_for_labs_are_refused(supplier):
    supplier.free_cancellation_days_before = 13
    assert "pre_dose_labs_by_days_before" in orders.supplier_terms_error(supplier)
    supplier.free_cancellation_days_before = 12
    assert orders.supplier_terms_error(supplier) == ""


def test_deadlines_are_the_centres_days_across_a_daylight_saving_change(
        time_machine, navigator):
    """New York moves its clocks on 9 Mar 2025. A dose calibrated at 23:30 on Sunday 9 Mar
    (03:30 UTC on the 10th) is free to cancel until 27 Feb, the centre's day, not 28 Feb."""
    centre = navigator.centre
    centre.time_zone = "America/New_York"
    centre.save()
    supplier = Supplier.objects.create(centre=centre, name="East Coast Isotopes")
    order = DoseOrder(supplier=supplier, activity_gbq=Decimal("7.4"),
                      calibration_at=dt.datetime(2025, 3, 10, 3, 30, tzinfo=dt.UTC))
    deadlines = orders.deadlines_of(order, centre)
    assert deadlines.calibration_day == D(2025, 3, 9)
    assert (deadlines.order_by, deadlines.free_cancellation_until) == (D(2025, 2, 18),
                                                                       D(2025, 2, 27))


# --- the REST API -------------------------------------------------------------------------------


def test_the_api_lists_the_cycles_orders_with_their_deadlines(course, navigator, oncologist,
                                                              time_machine):
    from rest_framework.test import APIClient

    cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1)
    order = orders.dose_order_place(actor=navigator, order=order_of(course, 1),
                                    order_number="LU-9")
    move(time_machine, D(2024, 12, 30))
    orders.dose_order_cancel(actor=navigator, order=order, reason="Rebooked.")
    client = APIClient()
    client.force_authenticate(navigator)
    url = f"/api/v1/cycles/{cycle(course, 1).external_id}/dose-orders/"
    [row] = client.get(url).json()["results"]
    assert (row["state"], row["order_number"], row["late"], row["charge"]) == (
        "cancelled", "LU-9", True, "500.00")
    assert (row["order_by"], row["free_cancellation_until"], row["labs_by"]) == (
        "2024-12-24", "2024-12-27", "2024-12-26")
    outsider = UserFactory(role="referring_oncologist",
                           centre=CentreFactory(name="Far Practice", kind="referring_practice"))
    client.force_authenticate(outsider)
    assert client.get(url).status_code == 404


def test_a_late_withhold_through_the_api_names_the_order_action(course, navigator, specialist,
                                                                time_machine,
                                                                django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    given_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    orders.dose_order_place(actor=navigator, order=order_of(course, 2), order_number="LU-2")
    move(time_machine, D(2025, 2, 26))
    enter_labs(specialist, course.patient, D(2025, 2, 26), platelets=("60", "10^9/L"))
    services.cycle_refresh(cycle=cycle(course, 2), today=D(2025, 2, 26))
    client = APIClient()
    client.force_authenticate(specialist)
    url = f"/api/v1/cycles/{cycle(course, 2).external_id}/withhold/"
    refused = client.post(url, {}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "order_action"
    done = client.post(url, {"order_action": "keep"}, format="json")
    assert done.status_code == 200, done.json()
    assert order_of(course, 2).state == DoseOrderState.ORDERED


# --- booking offers only days whose dose can still be ordered ---------------------------------


@pytest.mark.parametrize(("today", "first"), [
    (D(2024, 12, 17), D(2024, 12, 30)),  # Tuesday: that day's cut-off serves the week of 30 Dec
    (D(2024, 12, 18), D(2025, 1, 6)),    # Wednesday: too late for it, the next week
])
def test_the_first_day_whose_dose_can_still_be_ordered(centre, supplier, today, first):
    assert orders.first_orderable_day(centre, today) == first


def test_no_supplier_no_ordering_limit(centre):
    assert orders.first_orderable_day(centre, D(2024, 12, 18)) is None


def test_the_slots_offered_start_on_the_first_orderable_day(course, time_machine):
    from prrt import capacity

    move(time_machine, D(2024, 12, 18))
    start, _end = capacity.bookable_days(cycle(course, 1), D(2024, 12, 18))
    assert start == D(2025, 1, 6)
