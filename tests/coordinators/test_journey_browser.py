"""The main steps of a course with a withhold, in headless Chromium: labs with platelets 60 make
cycle 2 ready at once; the specialist withholds it; the navigator rebooks it two weeks later
with a reason; the cycle, course and patient pages then show the same new dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from coordinators.models import CareTask, TaskKind, TaskState
from coordinators.plan import plan_sync
from prrt import services
from prrt.models import CycleState
from tests.conftest import ARTIFACTS
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.browser

D = dt.date


def test_withhold_then_rebook_moves_every_page(live_server, sign_in_as, time_machine, centre,
                                               oncologist, specialist, navigator):
    ARTIFACTS.mkdir(exist_ok=True)
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, tzinfo=dt.UTC), tick=False)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=D(2025, 1, 6))
    plan_sync(course=course)
    enter_labs(navigator, course.patient, D(2025, 1, 4))
    services.cycle_decide(actor=specialist, cycle=course.cycles.get(number=1),
                          decision="approve", activity_gbq=Decimal("7.4"), today=D(2025, 1, 5))
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, tzinfo=dt.UTC), tick=False)
    give(navigator, course.cycles.get(number=1), D(2025, 1, 6), precautions_given=True)

    # Labs before cycle 2 with platelets 60: the cycle is ready for the specialist at once.
    time_machine.move_to(dt.datetime(2025, 2, 27, 9, tzinfo=dt.UTC), tick=True)
    enter_labs(navigator, course.patient, D(2025, 2, 27), platelets=("60", "10^9/L"))
    c2 = course.cycles.get(number=2)
    assert c2.state == CycleState.READY

    specialist_page = sign_in_as(specialist.username)
    specialist_page.get_by_role("link", name="Approvals").click()
    specialist_page.get_by_role(
        "link", name=f"{course.patient.family_name}, {course.patient.given_name}").click()
    expect(specialist_page.locator("#recommended-action")).to_have_text("WITHHOLD")
    specialist_page.get_by_label("Withhold", exact=True).check()
    specialist_page.get_by_label("Thrombocytopenia").check()
    specialist_page.get_by_role("button", name="Record decision").click()
    expect(specialist_page.locator("#cycle-state")).to_have_text("Withheld")
    expect(specialist_page.locator("#cycle-planned")).to_contain_text("13 Mar 2025")

    # The navigator rebooks cycle 2 for 17 March: outside 49-63 days, so with a reason.
    page = sign_in_as(navigator.username)
    page.goto(f"{live_server.url}/prrt/cycles/{c2.external_id}/")
    booking = page.locator("#booking")
    expect(booking).to_contain_text("This cycle is withheld")
    booking.get_by_label("Infusion day").fill("2025-03-17")
    booking.get_by_label("Room or place").fill("Infusion room 2")
    booking.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("give a reason to book outside that window")).to_be_visible()
    page.locator("#booking").get_by_label("Reason").fill("Withheld two weeks for platelets.")
    page.locator("#booking").get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Cycle 2 booked for 17 Mar 2025.")).to_be_visible()
    expect(page.get_by_text("70 days after the previous dose")).to_be_visible()
    expect(page.locator("#cycle-planned")).to_contain_text("booked for 17 Mar 2025")
    expect(page.locator("#cycle-planned")).to_contain_text("Infusion room 2")
    page.screenshot(path=str(ARTIFACTS / "journey-cycle-rebooked.png"), full_page=True)

    # Every page shows the same dates: the course page and the patient page.
    page.goto(f"{live_server.url}/prrt/courses/{course.external_id}/")
    expect(page.get_by_role("row", name="Cycle 2")).to_contain_text("17 Mar 2025")
    expect(page.get_by_role("row", name="Cycle 3")).to_contain_text("12 May 2025")
    page.goto(f"{live_server.url}/patients/{course.patient.external_id}/")
    expect(page.locator("body")).to_contain_text("17 Mar 2025")
    page.screenshot(path=str(ARTIFACTS / "journey-patient-after-rebooking.png"), full_page=True)
    infusions = {t.cycle: t.due for t in CareTask.objects.filter(
        course=course, kind=TaskKind.INFUSION, state=TaskState.OPEN)}
    assert infusions == {2: D(2025, 3, 17), 3: D(2025, 5, 12), 4: D(2025, 7, 7)}
    rebook = CareTask.objects.get(course=course, kind=TaskKind.REBOOK_CYCLE)
    assert rebook.state == TaskState.DONE and rebook.done_by is None
