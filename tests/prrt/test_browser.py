"""The specialist's approval in headless Chromium: the queue shows a cycle whose labs have
platelets 74 ×10⁹/L; the page recommends WITHHOLD; the specialist withholds; after new labs the
page recommends 3.7 GBq and the specialist approves it."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prrt import services
from prrt.models import CycleDecision, CycleState
from tests.conftest import ARTIFACTS
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.browser


def test_withhold_then_approve_reduced(page, live_server, login, centre, oncologist,
                                       specialist):
    ARTIFACTS.mkdir(exist_ok=True)
    today = timezone.localdate()
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=today + dt.timedelta(days=2))
    enter_labs(specialist, course.patient, today - dt.timedelta(days=1),
               platelets=("74", "10^9/L"))
    services.course_refresh(course=course, today=today)
    cycle = course.cycles.get(number=1)
    assert cycle.state == CycleState.READY

    login("specialist")
    page.get_by_role("link", name="Approvals").click()
    page.get_by_role("link", name=f"{course.patient.family_name}, {course.patient.given_name}"
                     ).click()
    expect(page.locator("#recommended-action")).to_have_text("WITHHOLD")
    expect(page.get_by_role("row", name="Platelet count decreased")).to_contain_text("Grade 2")
    expect(page.get_by_text("platelets 74 ×10⁹/L is below 75").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "cycle-approval-withhold.png"), full_page=True)
    page.get_by_label("Withhold", exact=True).check()
    page.get_by_label("Thrombocytopenia").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#cycle-state")).to_have_text("Withheld")

    enter_labs(specialist, course.patient, today, platelets=("98", "10^9/L"))
    services.course_refresh(course=course, today=today)
    page.reload()
    expect(page.locator("#cycle-state")).to_have_text("Ready for approval")
    expect(page.locator("#recommended-action")).to_have_text("RESUME_REDUCED")
    expect(page.locator(".recommendation")).to_contain_text("3.7 GBq")
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("3.7 GBq").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#cycle-state")).to_have_text("Approved")
    page.screenshot(path=str(ARTIFACTS / "cycle-approved-reduced.png"), full_page=True)
    decisions = list(CycleDecision.objects.filter(cycle=cycle).order_by("decided_at"))
    assert [(d.decision, d.recommended_action) for d in decisions] == [
        ("withhold", "WITHHOLD"), ("approve", "RESUME_REDUCED")]
    assert str(decisions[1].activity_gbq) == "3.70" and decisions[1].follows_recommendation
