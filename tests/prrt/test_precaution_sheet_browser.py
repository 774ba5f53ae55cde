"""The precaution sheet page in headless Chromium: a navigator turns the article's Table 2 into
the centre's own sheet with a 7-day item near children and pregnant women, and a row that does
not fit the plan is marked beside its field (axe-core clean in that state)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from netcare.clock import centre_today
from prrt.precautions import precaution_sheet
from tests.conftest import ARTIFACTS, sign_in_page
from tests.netcare.test_accessibility_browser import AXE, CHECK_REFERENCES, RUN_AXE, WCAG_TAGS

pytestmark = pytest.mark.browser

NEW_ITEM = "Stay away from nurseries and schools."


def field(page, label: str):
    """The field whose label starts with `label` and goes on with no further digit (a
    required field's label ends with its "required" mark)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}(?!\d)"))


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page_as_navigator(browser, live_server, navigator):
    # The axe-core script is injected, so this context bypasses the Content-Security-Policy.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    sign_in_page(page, live_server.url, "navigator")
    yield page
    context.close()


def test_a_navigator_adds_a_seven_day_item_and_sees_it(page_as_navigator, centre):
    page = page_as_navigator
    page.get_by_role("link", name="Precaution sheet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Precaution sheet")
    expect(page.locator("#default-sheet-note")).to_contain_text("article's Table 2")
    expect(page.locator("[data-row]")).to_have_count(13)  # Table 2 and a blank row

    field(page, "Days for precaution 1").fill("3")
    field(page, "Text of precaution 13").fill(NEW_ITEM)
    field(page, "Days for precaution 13").fill("7")
    field(page, "Only near (precaution 13)").fill("children and pregnant women")
    page.get_by_role("button", name="Add a row").click()
    expect(page.locator("[data-row]")).to_have_count(14)
    expect(field(page, "Text of precaution 13")).to_have_value(NEW_ITEM)
    expect(field(page, "Days for precaution 1")).to_have_value("3")
    field(page, "Remove precaution 12").check()
    page.get_by_role("button", name="Save the sheet").click()

    expect(page.get_by_role("status")).to_contain_text("Precaution sheet saved")
    row = page.locator("tr[data-precaution]", has_text=NEW_ITEM)
    expect(row).to_contain_text("7")
    expect(row).to_contain_text("children and pregnant women")
    expect(page.locator("tr[data-precaution]")).to_have_count(12)
    today = centre_today(centre)
    until = today + dt.timedelta(days=7)
    expect(page.locator("#sheet-preview")).to_contain_text(
        f"For 7 days, until {until:%A} {until.day} {until:%B %Y} — near children and pregnant "
        "women")
    short = today + dt.timedelta(days=3)
    expect(page.locator("#sheet-preview")).to_contain_text(
        f"For 3 days, until {short:%A} {short.day} {short:%B %Y}")
    shot(page, "precaution-sheet-saved")
    sheet = precaution_sheet(centre)
    assert (sheet[0].days, sheet[-1].text, sheet[-1].days) == (3, NEW_ITEM, 7)
    assert "Shower every day." not in [item.text for item in sheet]  # row 12 was removed


def test_a_row_that_does_not_fit_shows_its_error_beside_the_field(page_as_navigator, centre,
                                                                  live_server):
    page = page_as_navigator
    page.goto(f"{live_server.url}/prrt/precautions/")
    days = field(page, "Days for precaution 4")
    days.fill("45")
    page.get_by_role("button", name="Save the sheet").click()

    error = page.locator("#id_items-3-days_error")
    expect(error).to_contain_text("at most 34 days")
    days = field(page, "Days for precaution 4")
    expect(days).to_have_value("45")
    expect(days).to_have_attribute("aria-invalid", "true")
    described = days.get_attribute("aria-describedby").split()
    assert "id_items-3-days_error" in described
    expect(page.locator(".messages .message-error")).to_contain_text("not saved")
    shot(page, "precaution-sheet-error")
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(RUN_AXE, WCAG_TAGS) == []
    assert page.evaluate(CHECK_REFERENCES) == []
    assert not centre.precaution_items.exists()
