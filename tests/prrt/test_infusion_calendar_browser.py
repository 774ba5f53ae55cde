"""The weekly infusion calendar and booking into a slot, in headless Chromium: the navigator
opens Infusions, sees who is booked and the free slots, goes to next week, books a free slot
from the cycle page and finds the patient on the calendar; the pages pass axe-core at 400 px.

Wednesday 5 March 2025 at the centre (London). Room 1 and Room 2 infuse at 08:30 and 13:00,
Monday to Thursday. Ms A is booked in Room 1 at 08:30 on Thursday 6 March; Mr B's first cycle is
planned for Monday 10 March and not booked yet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from prrt.bookings import cycle_book
from prrt.capacity import SlotKey
from prrt.models import InfusionRoom, InfusionSlotBooking
from tests.conftest import ARTIFACTS, sign_in_page
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.browser

D = dt.date
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag",
    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]});
  return result.violations.map(v => v.id + ": " + v.help + " | "
    + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""


@pytest.fixture
def world(time_machine, centre, oncologist, specialist, navigator):
    time_machine.move_to(dt.datetime(2025, 3, 5, 9, tzinfo=dt.UTC), tick=True)
    rooms = [InfusionRoom.objects.create(centre=centre, name=name, slot_times=["08:30", "13:00"],
                                         weekdays=[0, 1, 2, 3]) for name in ("Room 1", "Room 2")]
    booked = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=D(2025, 3, 6))
    cycle_book(actor=navigator, cycle=booked.cycles.get(number=1), booked_date=D(2025, 3, 6),
               slot=SlotKey(rooms[0].external_id, D(2025, 3, 6), 0))
    waiting = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                              first_dose=D(2025, 3, 10), sex="M")
    return {"rooms": rooms, "booked": booked.patient, "waiting": waiting}


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)


def test_navigator_sees_the_week_and_books_a_free_slot(page, live_server, login, world):
    ARTIFACTS.mkdir(exist_ok=True)
    login("navigator")
    page.get_by_role("link", name="Infusions").click()
    table = page.get_by_role("table", name="Riverside NET Centre: infusions")
    expect(table).to_contain_text("from Monday 3 March to Sunday 9 March 2025")
    row = table.get_by_role("row", name="Room 1 08:30")
    patient = world["booked"]
    expect(row).to_contain_text(f"{patient.family_name}, {patient.given_name}")
    expect(row).to_contain_text("cycle 1")
    expect(row).to_contain_text("no order")
    expect(table.get_by_role("row", name="Room 2 08:30").get_by_role("cell", name="Free")) \
        .to_have_count(2)  # Wednesday and Thursday; Monday and Tuesday have passed
    page.screenshot(path=str(ARTIFACTS / "infusion-calendar.png"), full_page=True)

    page.get_by_role("link", name="Next week").click()
    expect(table).to_contain_text("from Monday 10 March to Sunday 16 March 2025")
    expect(table.get_by_role("cell", name="Free")).to_have_count(16)

    waiting = world["waiting"]
    cycle = waiting.cycles.get(number=1)
    page.goto(f"{live_server.url}/prrt/cycles/{cycle.external_id}/")
    booking = page.locator("#booking")
    booking.locator("summary").click()
    monday = booking.get_by_role("group", name="Mon 10 Mar 2025")
    monday.get_by_label("13:00, Room 2").check()
    booking.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Cycle 1 booked for 10 Mar 2025 at 13:00, Room 2.")).to_be_visible()
    expect(page.locator("#cycle-planned")).to_contain_text("booked for 10 Mar 2025 at 13:00")
    held = InfusionSlotBooking.objects.get(cycle=cycle)
    assert (held.room.name, held.day, held.slot) == ("Room 2", D(2025, 3, 10), 1)

    page.get_by_role("link", name="Infusions").click()
    page.get_by_role("link", name="Next week").click()
    cell = table.get_by_role("row", name="Room 2 13:00").get_by_role("cell").first
    expect(cell).to_contain_text(f"{waiting.patient.family_name}, {waiting.patient.given_name}")
    expect(table.get_by_role("cell", name="Free")).to_have_count(15)
    cell.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/prrt/cycles/{cycle.external_id}/")


def test_the_calendar_and_the_slot_form_at_400_px(browser, live_server, world):
    context = browser.new_context(viewport={"width": 400, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in_page(page, live_server.url, "navigator")
        page.goto(f"{live_server.url}/prrt/infusions/")
        expect(page.get_by_role("table")).to_be_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 400
        region = page.get_by_role("region", name="Riverside NET Centre: infusions")
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # scrolls in its region
        assert axe_violations(page) == []
        page.screenshot(path=str(ARTIFACTS / "infusion-calendar-400px.png"), full_page=True)

        page.goto(f"{live_server.url}/prrt/infusions/?week=2025-W99")
        expect(page.locator("#id_week_error")).to_contain_text("2025 has no week 99.")
        assert axe_violations(page) == []

        cycle = world["waiting"].cycles.get(number=1)
        page.goto(f"{live_server.url}/prrt/cycles/{cycle.external_id}/")
        page.locator("#booking summary").click()
        page.locator("#booking").get_by_role("button", name="Book", exact=True).click()
        slots = page.get_by_role("group", name="Free infusion slot")
        expect(slots).to_have_attribute("aria-describedby", "id_slot_helptext id_slot_error")
        expect(page.locator("#id_slot_error")).to_have_text("Choose a free infusion slot.")
        page.locator("#booking").evaluate("d => { d.open = true; }")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 400
        assert axe_violations(page) == []
        page.screenshot(path=str(ARTIFACTS / "cycle-slot-form-400px.png"), full_page=True)
    finally:
        context.close()
