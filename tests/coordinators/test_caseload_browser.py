"""The navigator's morning and the referring oncologist's report, in headless Chromium."""

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from prrt import services
from tests.conftest import ARTIFACTS
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.browser


@pytest.fixture
def course_with_overdue_lar(centre, oncologist, specialist, navigator):
    today = timezone.localdate()
    infusion = today - dt.timedelta(days=3)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=infusion)
    enter_labs(specialist, course.patient, infusion - dt.timedelta(days=2))
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=1), today=infusion)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=infusion)
    services.cycle_administer(
        actor=navigator, cycle=course.cycles.get(number=1),
        administered_at=dt.datetime.combine(infusion, dt.time(10), tzinfo=dt.UTC),
        activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True)
    CareTask.objects.filter(course=course).delete()
    CareTask.objects.create(course=course, patient=course.patient, kind=TaskKind.LAR_INJECTION,
                            cycle=1, owner_party=OwnerParty.CENTRE, earliest=infusion,
                            due=infusion, latest=infusion + dt.timedelta(days=1))
    return course, infusion


def test_navigators_morning(page, live_server, login, course_with_overdue_lar):
    ARTIFACTS.mkdir(exist_ok=True)
    course, infusion = course_with_overdue_lar
    patient = course.patient
    login("navigator")
    expect(page.locator("#count-overdue")).to_have_text("1")
    overdue = page.locator(".task-overdue", has_text="Octreotide LAR injection (cycle 1)")
    expect(overdue).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "navigator-caseload.png"), full_page=True)

    overdue.get_by_text("Actions").click()
    overdue.get_by_text("Mark done").click()
    overdue.get_by_label("Done at").fill(f"{infusion:%Y-%m-%d}T16:30")
    overdue.get_by_role("button", name="Save: done").click()
    expect(page.locator("#count-overdue")).to_have_text("0")
    expect(page.locator(".task-overdue")).to_have_count(0)
    expect(page.get_by_role("status").first).to_contain_text("done recorded")
    task = CareTask.objects.get(course=course)
    assert task.state == TaskState.DONE
    assert task.done_at.date() == infusion

    page.goto(f"{live_server.url}/patients/{patient.external_id}/")
    expect(page.locator("figure.journey svg")).to_be_visible()
    expect(page.locator("#journey-desc")).to_contain_text("today is")
    page.screenshot(path=str(ARTIFACTS / "patient-journey.png"), full_page=True)

    page.get_by_role("link", name="Cycle 1", exact=True).first.click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the instructions").click()
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    until = infusion + dt.timedelta(days=7)
    assert f"from {infusion:%A} {infusion.day} {infusion:%B %Y}" in text
    assert f"to {until:%A} {until.day} {until:%B %Y}" in text
    assert patient.full_name in text


def test_oncologist_reports_a_grade_3_event_seen_by_the_navigator(
        sign_in_as, course_with_overdue_lar):
    course, _ = course_with_overdue_lar
    patient = course.patient
    onc = sign_in_as("oncologist")
    onc.get_by_role("link", name=f"{patient.family_name}, {patient.given_name}").click()
    onc.get_by_text("Report an adverse event").click()
    onc.get_by_label("CTCAE term").fill("Platelet count decreased")
    onc.get_by_label("Category").select_option("thrombocytopenia")
    onc.get_by_label("CTCAE grade").fill("3")
    onc.get_by_label("Onset on").fill(f"{timezone.localdate():%Y-%m-%d}")
    onc.get_by_role("button", name="Report adverse event").click()
    expect(onc.get_by_role("status").first).to_contain_text("Adverse event reported")

    nav = sign_in_as("navigator")
    alert = nav.locator(".ae-alerts")
    expect(alert).to_contain_text("Grade 3")
    expect(alert).to_contain_text(f"{patient.family_name}, {patient.given_name}")
    expect(alert).to_contain_text("Platelet count decreased")
    nav.screenshot(path=str(ARTIFACTS / "navigator-adverse-event.png"), full_page=True)
