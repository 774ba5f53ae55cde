"""A case from listing to signed outcome, in headless Chromium: the specialist finds the patient
by MRN (a POST, no name in a URL), lists them with the question, marks the meeting held,
records the recommendation with who took part and a follow-up action, and signs; the case is
read-only, the action is a care task on the patient's course and the referring oncologist sees
the outcome on their home page. The meeting and case pages pass axe-core."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coordinators.models import CareTask, OwnerParty, TaskKind
from network.models import CaseState, Discipline, MdtCase
from tests.conftest import ARTIFACTS, sign_in_page
from tests.netcare.test_accessibility_browser import AXE, Audit
from tests.network.mdt_builders import schedule
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.browser


@pytest.fixture
def meeting_and_course(centre, oncologist, specialist, navigator):
    today = timezone.localdate()
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=today + dt.timedelta(days=21))
    meeting = schedule(navigator, chair=specialist,
                       starts_at=timezone.now() + dt.timedelta(hours=2),
                       video_link="https://video.example/net-mdt")
    from network import mdt

    mdt.member_add(actor=navigator, meeting=meeting, external_name="Dr Rhea Radley",
                   discipline=Discipline.RADIOLOGY)
    return meeting, course


def test_a_case_from_listing_to_signed_outcome(browser, live_server, meeting_and_course,
                                               specialist):
    meeting, course = meeting_and_course
    patient = course.patient
    due = timezone.localdate() + dt.timedelta(days=10)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    checks = Audit(page, live_server.url)
    assert AXE.exists()
    sign_in_page(page, live_server.url, "specialist")

    page.get_by_role("link", name="MDT", exact=True).click()
    page.get_by_role("link", name=meeting.title).click()
    expect(page.locator("#meeting-state")).to_have_text("Scheduled")
    page.get_by_label("Find a patient of the centre").fill(patient.mrn.lower())
    page.get_by_role("button", name="Find the patient").click()
    assert patient.family_name not in page.url and patient.mrn not in page.url
    page.get_by_label(f"{patient.family_name}, {patient.given_name} (MRN {patient.mrn})").check()
    page.get_by_label("Question for the MDT").fill("Progressing on lanreotide: PRRT now?")
    page.get_by_role("button", name="List the case").click()
    expect(page.get_by_role("status")).to_contain_text("was listed")
    case = MdtCase.objects.get(patient=patient)
    article = page.locator(f"#case-{case.external_id}")
    expect(article.locator("[data-case-state]")).to_have_text("Listed")
    expect(article).to_contain_text("Progressing on lanreotide: PRRT now?")
    checks.check("meeting with a listed case")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mdt-meeting.png"), full_page=True)

    page.get_by_role("button", name="Mark the meeting held").click()
    expect(page.locator("#meeting-state")).to_have_text("Held")
    article.get_by_role("link", name="Open the case to record the outcome").click()
    expect(page.locator("#case-state")).to_have_text("Listed")
    expect(page.locator("[data-summary=grade]")).to_contain_text("G2; Ki-67 4 %")
    expect(page.locator("[data-summary=sstr]")).to_contain_text("SSTR positive")
    checks.check("case before the outcome")

    page.get_by_label("Recommendation").select_option(label="PRRT ([177Lu]Lu-DOTA-TATE)")
    page.get_by_label("Rationale").fill("SSTR-positive G2 small-bowel NET progressing on SSA.")
    page.get_by_label(f"{specialist} (NET oncology)").check()
    page.get_by_label("Dr Rhea Radley (Radiology)").check()
    page.get_by_label("Action 1: what to do").fill("Book the baseline CT")
    page.get_by_label("Action 1: owner").select_option(OwnerParty.CENTRE)
    page.get_by_label("Action 1: due").fill(f"{due:%Y-%m-%d}")
    page.get_by_role("button", name="Sign the outcome").click()
    # Not confirmed: the form comes back with the error beside the box, nothing signed.
    expect(page.locator(".field-error").first).to_be_visible()
    assert MdtCase.objects.get(pk=case.pk).state == CaseState.LISTED
    checks.check("outcome form with an error")
    page.get_by_label("I sign this outcome").check()
    page.get_by_role("button", name="Sign the outcome").click()

    expect(page.get_by_role("status")).to_contain_text("The outcome is signed")
    expect(page.locator("#case-state")).to_have_text("Discussed (signed)")
    expect(page.locator("#outcome-recommendation")).to_have_text("PRRT ([177Lu]Lu-DOTA-TATE)")
    expect(page.locator("#outcome-signed")).to_contain_text(str(specialist))
    expect(page.get_by_role("button", name="Sign the outcome")).to_have_count(0)
    expect(page.get_by_role("button", name="Refresh the summary from the record")) \
        .to_have_count(0)
    expect(page.locator(".mdt-actions")).to_contain_text("Care task on the PRRT course: open")
    page.screenshot(path=str(ARTIFACTS / "mdt-signed-outcome.png"), full_page=True)
    checks.check("signed case")
    checks.assert_clean()

    case.refresh_from_db()
    assert (case.state, case.recommendation, case.signed_by) == (CaseState.DISCUSSED, "prrt",
                                                                 specialist)
    assert sorted(m.name for m in case.attendees.all()) == sorted(
        ["Dr Rhea Radley", str(specialist)])
    task = CareTask.objects.get(course=course, kind=TaskKind.MDT_ACTION)
    assert (task.due, task.owner_party, task.note.startswith("Book the baseline CT")) == (
        due, OwnerParty.CENTRE, True)

    # The referring oncologist finds the outcome on their home page.
    oncologist_context = browser.new_context()
    other = oncologist_context.new_page()
    sign_in_page(other, live_server.url, "oncologist")
    outcomes = other.locator("#mdt-outcomes")
    expect(outcomes).to_contain_text("PRRT ([177Lu]Lu-DOTA-TATE)")
    outcomes.get_by_role("link", name=f"{patient.family_name}, {patient.given_name}").click()
    expect(other.locator("#case-state")).to_have_text("Discussed (signed)")
    expect(other.locator("#outcome-rationale")).to_contain_text("progressing on SSA")
    oncologist_context.close()
    context.close()
