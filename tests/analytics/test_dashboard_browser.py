"""The dashboard in headless Chromium: the charts are drawn, the table has the numbers, a bar
leads to the patients behind it, and axe-core finds nothing to fix."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.analytics.history import History, at, days
from tests.analytics.test_figures import first_dose_course
from tests.netcare.test_accessibility_browser import audit  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

# Five first doses ten days ago: the days from referral are 30, 35, 42, 50 and 60, so the
# median is 42 and the interquartile range 35 to 50.
TOTALS = [30, 35, 42, 50, 60]


@pytest.fixture
def first_doses(centre, specialist, navigator, oncologist):
    history = History(centre=centre, specialist=specialist, navigator=navigator)
    day = timezone.localdate() - days(10)
    courses = [first_dose_course(history, oncologist, at(day, 9), total) for total in TOTALS]
    return day, courses


def test_the_charts_render_and_a_bar_lists_its_patients(page, live_server, login, first_doses,
                                                        screenshot):
    day, courses = first_doses
    login("navigator")
    page.goto(f"{live_server.url}/analytics/")
    section = page.locator("#referral-to-first-dose")
    chart = section.locator("svg.chart-picture")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    assert "Referral to first dose: bar chart" in chart.get_attribute("aria-label")
    assert chart.locator("rect.bar").count() == 12  # one a month, the last 12 months
    widths = [float(w) for w in chart.locator("rect.bar").evaluate_all(
        "bars => bars.map(b => b.getBoundingClientRect().width)")]
    assert sum(1 for w in widths if w > 0) == 1  # only this month has first doses
    row = section.locator(f'tr[data-row="{day:%Y-%m}:total"]')
    # The count links to the patients (its link says so to a screen reader).
    expect(row.locator("td")).to_have_text([re.compile(r"^5 \(Patients, .*list the patients$"),
                                            "42", "35", "50"])
    expect(section.locator("table caption")).to_contain_text("Referral to first dose")
    screenshot("analytics")

    section.locator(".chart-links a").first.click()
    page.wait_for_load_state("networkidle")
    assert "/analytics/referral-to-first-dose/patients/" in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral to first dose")
    listed = page.locator("table.analytics-patients tbody tr")
    expect(listed).to_have_count(5)
    for course in courses:
        expect(page.get_by_role("link", name=f"{course.patient.family_name}, "
                                          f"{course.patient.given_name}")).to_be_visible()
    page.get_by_role("link", name=courses[0].patient.family_name + ", "
                     + courses[0].patient.given_name).click()
    page.wait_for_load_state("networkidle")
    assert f"/patients/{courses[0].patient.external_id}/" in page.url


def test_the_dashboard_and_the_patient_list_pass_axe(audit, first_doses):  # noqa: F811
    check = audit("navigator", 1280)
    check.goto("/analytics/", "analytics")
    day, _ = first_doses
    check.goto("/analytics/cycle-slippage/patients/?row=1&column=n", "analytics patients")
    narrow = audit("oncologist", 768)
    narrow.goto("/analytics/", "analytics, a practice")
    check.assert_clean()
    narrow.assert_clean()
