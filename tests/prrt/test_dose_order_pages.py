"""The dose order panel of the cycle page and the withhold that asks about a placed dose."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from netcare.models import AuditEvent
from prrt import orders, services
from prrt.bookings import cycle_book
from prrt.models import Cycle, CycleState, DoseOrder, DoseOrderState, Supplier
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.django_db

D = dt.date
C1 = D(2025, 1, 6)


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC), tick=False)


@pytest.fixture
def booked(time_machine, centre, oncologist, specialist, navigator):
    Supplier.objects.create(centre=centre, name="Isotope Supplies")
    move(time_machine, D(2024, 12, 17))
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    cycle = Cycle.objects.get(course=course, number=1)
    cycle_book(actor=navigator, cycle=cycle, booked_date=C1, booked_time=dt.time(9, 0))
    return cycle


def url(cycle, action=None):
    if action is None:
        return reverse("prrt:cycle", args=[cycle.external_id])
    return reverse("prrt:cycle-order", args=[cycle.external_id, action])


def test_the_panel_shows_the_order_and_its_deadlines(client, booked, navigator):
    client.force_login(navigator)
    page = client.get(url(booked)).content.decode()
    assert 'id="dose-order-state">To order' in page
    assert "Tue 24 Dec 2024" in page  # order by
    assert "Fri 27 Dec 2024" in page  # free cancellation until
    assert "Mon 6 Jan 2025, 09:00" in page  # calibration, in the centre's time zone
    assert "Record the order as placed" in page


def test_placing_needs_the_order_number_beside_its_field(client, booked, navigator):
    client.force_login(navigator)
    response = client.post(url(booked, "place"), {"order-place-order_number": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_order-place-order_number_error"' in page
    assert DoseOrder.objects.get().state == DoseOrderState.TO_ORDER


def test_the_whole_order_from_the_page(client, booked, navigator):
    client.force_login(navigator)
    assert client.post(url(booked, "place"),
                       {"order-place-order_number": "LU-1"}).status_code == 302
    assert client.post(url(booked, "confirm"), {}).status_code == 302
    response = client.post(url(booked, "receive"), {
        "order-receive-lot_number": "L9", "order-receive-measured_activity_gbq": "7.55"})
    assert response.status_code == 302
    order = DoseOrder.objects.get()
    assert (order.state, order.order_number, order.lot_number) == (
        DoseOrderState.RECEIVED, "LU-1", "L9")
    response = client.post(url(booked, "waste"), {"order-waste-reason": "Platelets 45.",
                                                  "order-waste-ineligible_on_testing": "on"},
                           follow=True)
    assert "Dose order wasted. No charge." in response.content.decode()
    order.refresh_from_db()
    assert (order.state, order.charge) == (DoseOrderState.WASTED, Decimal(0))


def test_a_wrong_step_is_a_conflict_not_an_error_page(client, booked, navigator):
    client.force_login(navigator)
    response = client.post(url(booked, "waste"), {"order-waste-reason": "x"})
    assert response.status_code == 409
    assert "Cannot record the dose as wasted" in response.content.decode()


def test_a_referring_oncologist_cannot_order(client, booked, oncologist):
    client.force_login(oncologist)
    response = client.post(url(booked, "place"), {"order-place-order_number": "LU-1"})
    assert response.status_code in (403, 404)
    assert DoseOrder.objects.get().state == DoseOrderState.TO_ORDER
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REFUSED,
                                     actor=oncologist).exists()


def test_the_withhold_after_the_free_day_asks_about_the_dose(client, booked, navigator,
                                                             specialist, time_machine):
    orders.dose_order_place(actor=navigator, order=DoseOrder.objects.get(), order_number="LU-1")
    move(time_machine, D(2024, 12, 30))
    enter_labs(specialist, booked.course.patient, D(2024, 12, 30), platelets=("60", "10^9/L"))
    services.cycle_refresh(cycle=booked, today=D(2024, 12, 30))
    client.force_login(specialist)
    page = client.get(url(booked)).content.decode()
    assert 'id="order-choice"' in page and "cancelling it now costs USD 500.00" in page
    post = {"decision": "withhold", "categories": ["thrombocytopenia"], "reason": ""}
    refused = client.post(reverse("prrt:cycle-decide", args=[booked.external_id]), post)
    assert refused.status_code == 400
    assert 'id="id_order_action_error"' in refused.content.decode()
    assert Cycle.objects.get(pk=booked.pk).state == CycleState.READY
    done = client.post(reverse("prrt:cycle-decide", args=[booked.external_id]),
                       {**post, "order_action": "cancel"}, follow=True)
    assert "was cancelled late: USD 500.00 charged." in done.content.decode()
    assert Cycle.objects.get(pk=booked.pk).state == CycleState.WITHHELD
