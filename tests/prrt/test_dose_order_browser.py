"""A dose order in headless Chromium: the navigator places the booked cycle's order from the
cycle page; the specialist withholds after its free cancellation and chooses, with the charge in
front of them, to cancel it late."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prrt import services
from prrt.bookings import cycle_book
from prrt.models import DoseOrder, DoseOrderState, Supplier
from tests.conftest import ARTIFACTS
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.browser


def test_place_then_withhold_late_and_cancel(page, live_server, login, centre, oncologist,
                                             specialist, navigator):
    ARTIFACTS.mkdir(exist_ok=True)
    Supplier.objects.create(centre=centre, name="Isotope Supplies")
    today = timezone.localdate()
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=today + dt.timedelta(days=5))
    cycle = course.cycles.get(number=1)
    cycle_book(actor=navigator, cycle=cycle, booked_date=today + dt.timedelta(days=5))

    login("navigator")
    page.goto(f"{live_server.url}/prrt/cycles/{cycle.external_id}/")
    panel = page.locator("#dose-order")
    expect(panel.locator("#dose-order-state")).to_have_text("To order")
    expect(panel).to_contain_text("Cut-off passed")
    panel.get_by_text("Record the order as placed").first.click()
    panel.get_by_label("Supplier's order number").fill("LU-5501")
    panel.get_by_role("button", name="Record the order as placed").click()
    expect(page.locator("#dose-order-state")).to_have_text("Ordered")
    expect(page.locator("#dose-order")).to_contain_text("Cancelling now: USD 500.00")
    page.screenshot(path=str(ARTIFACTS / "dose-order-placed.png"), full_page=True)

    enter_labs(specialist, course.patient, today, platelets=("60", "10^9/L"))
    services.course_refresh(course=course, today=today)
    page.context.clear_cookies()
    login("specialist")
    page.goto(f"{live_server.url}/prrt/cycles/{cycle.external_id}/")
    choice = page.locator("#order-choice")
    expect(choice).to_contain_text("cancelling it now costs USD 500.00")
    page.get_by_label("Withhold", exact=True).check()
    page.get_by_label("Thrombocytopenia").check()
    page.get_by_role("button", name="Record decision").click()
    # Not chosen: the decision is refused, the error is beside the choice, nothing saved.
    expect(page.locator("#id_order_action_error")).to_contain_text("choose whether to cancel")
    page.get_by_label("Withhold", exact=True).check()
    page.get_by_label("Thrombocytopenia").check()
    page.get_by_label("Cancel the order (late: charged)").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#cycle-state")).to_have_text("Withheld")
    expect(page.get_by_text("was cancelled late: USD 500.00 charged.")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dose-order-cancelled-late.png"), full_page=True)
    order = DoseOrder.objects.get(order_number="LU-5501")
    assert (order.state, order.late, order.charge) == (DoseOrderState.CANCELLED, True, 500)
