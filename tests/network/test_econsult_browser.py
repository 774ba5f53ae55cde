"""An e-consult in headless Chromium: the oncologist asks the centre (a first try with errors
read beside their fields), the specialist answers, the oncologist refers now from the answer
with nothing to retype but who the patient is; axe-core finds nothing on the pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from network.models import EConsult, EConsultState, NetContact
from referrals.models import Referral, ReferralState
from tests.conftest import ARTIFACTS, sign_in_page
from tests.netcare.test_accessibility_browser import AXE, CHECK_REFERENCES, RUN_AXE, WCAG_TAGS

pytestmark = pytest.mark.browser


@pytest.fixture
def open_as(browser, live_server):
    """A browser context signed in as `username`, with axe-core injectable (CSP bypassed for the
    injected script only; the pages are NETcare's own)."""
    contexts = []

    def open_page(username: str):
        context = browser.new_context(bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        sign_in_page(page, live_server.url, username)
        return page

    yield open_page
    for context in contexts:
        context.close()


def assert_accessible(page, name: str) -> None:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    problems = page.evaluate(RUN_AXE, WCAG_TAGS) + page.evaluate(CHECK_REFERENCES)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_ask_answer_refer_now(open_as, live_server, centre, oncologist, specialist, navigator):
    ARTIFACTS.mkdir(exist_ok=True)
    NetContact.objects.create(centre=centre, user=specialist, title="NET contact",
                              phone="+44 20 7946 0101")
    onc = open_as("oncologist")
    onc.screenshot(full_page=True, path=str(ARTIFACTS / "econsult-oncologist-home.png"))
    onc.get_by_role("navigation", name="Main").get_by_role("link", name="Ask the centre").click()
    onc.get_by_role("link", name="Ask a new question").click()
    expect(onc.get_by_text("NET contact: telephone +44 20 7946 0101")).to_be_visible()
    onc.get_by_label("Question").fill("Is she a candidate for PRRT?")
    onc.get_by_label("Tumour site").select_option("small_bowel")
    onc.get_by_label("WHO grade").select_option("G2")
    onc.get_by_label("Ki-67 (%)").fill("4")
    onc.get_by_label("Yes").check()
    onc.get_by_label("Which SSTR scan").select_option("ga68_dotatate_pet")
    onc.get_by_label("SSTR positive").select_option("true")
    onc.get_by_label("Current SSA").select_option("octreotide_lar")
    onc.get_by_label("Recent labs").fill("Platelets 210, creatinine 0.9 mg/dL.")
    onc.get_by_label("Labs drawn on").fill("2026-11-15")
    onc.get_by_role("button", name="Send the question").click()
    # The scan's date is missing: said beside the field, which it describes.
    error = onc.locator("#id_sstr_imaging_on_error")
    expect(error).to_have_text("Give the date of the SSTR imaging.")
    expect(onc.get_by_label("SSTR imaging date")).to_have_attribute(
        "aria-describedby", "id_sstr_imaging_on_error")
    assert_accessible(onc, "ask, with errors")
    onc.get_by_label("SSTR imaging date").fill("2026-10-01")
    onc.get_by_role("button", name="Send the question").click()
    expect(onc.locator("#econsult-state")).to_have_text("Asked")
    econsult_url = onc.url
    econsult = EConsult.objects.get()

    spec = open_as("specialist")
    spec.get_by_role("navigation", name="Main").get_by_role("link", name="E-consults").click()
    assert_accessible(spec, "the centre's e-consults")
    spec.locator(f'tr[data-econsult="{econsult.external_id}"] a').click()
    expect(spec.locator("#econsult-question")).to_have_text("Is she a candidate for PRRT?")
    spec.get_by_label("Your answer").fill("Yes: SSTR-positive G2, progressing. Refer her.")
    spec.get_by_role("button", name="Send the answer").click()
    expect(spec.locator("#econsult-state")).to_have_text("Answered")
    assert_accessible(spec, "the answered e-consult")

    onc.goto(econsult_url)
    expect(onc.locator("#econsult-answer")).to_contain_text("Refer her.")
    onc.screenshot(full_page=True, path=str(ARTIFACTS / "econsult-answered.png"))
    expect(onc.get_by_role("button", name="Refer the patient from the e-consult")).to_have_count(0)
    onc.get_by_role("link", name="Refer now").click()
    # Pre-filled from the e-consult: the tumour, the scan, the SSA, the labs' day, the question.
    expect(onc.get_by_label("Primary site")).to_have_value("small_bowel")
    expect(onc.get_by_label("Differentiation")).to_have_value("well")
    expect(onc.get_by_label("Ki-67 (%)")).to_have_value("4.0")
    expect(onc.get_by_label("Modality")).to_have_value("ga68_dotatate_pet")
    expect(onc.get_by_label("Performed on")).to_have_value("2026-10-01")
    expect(onc.get_by_label("Collected on")).to_have_value("2026-11-15")
    expect(onc.get_by_label("Clinical question")).to_have_value("Is she a candidate for PRRT?")
    expect(onc.get_by_label("Clinical history")).to_contain_text("Refer her.")
    assert_accessible(onc, "refer now")
    onc.get_by_label("Given name").fill("Maya")
    onc.get_by_label("Family name").fill("Moorland")
    onc.get_by_label("Date of birth").fill("1962-05-14")
    onc.get_by_label("Sex").select_option("F")
    onc.get_by_label("Platelets", exact=True).fill("210")
    onc.get_by_role("button", name="Submit referral").click()
    expect(onc.locator("#referral-state")).to_have_text("Submitted")
    onc.screenshot(full_page=True, path=str(ARTIFACTS / "econsult-referred.png"))

    referral = Referral.objects.get()
    econsult.refresh_from_db()
    assert referral.state == ReferralState.SUBMITTED
    assert (econsult.state, econsult.referral) == (EConsultState.CLOSED, referral)
    assert referral.patient.tumour.ki67_percent == 4 and referral.patient.current_ssa == \
        "octreotide_lar"
    onc.goto(econsult_url)
    expect(onc.locator("#econsult-referral")).to_contain_text("Maya Moorland")
    expect(onc.get_by_role("link", name="Refer now")).to_have_count(0)
