"""The referral loop in headless Chromium: the oncologist submits, the specialist asks for
information, the oncologist answers, the specialist accepts, the oncologist sees "Accepted"."""

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def act(page, button, reason=None):
    form = page.locator("form.action-form").filter(
        has=page.get_by_role("button", name=button, exact=True))
    if reason is not None:
        form.locator("textarea").fill(reason)
    form.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state("networkidle")


def test_referral_loop(sign_in_as, live_server, oncologist, specialist, centre):
    ARTIFACTS.mkdir(exist_ok=True)
    onc = sign_in_as("oncologist")
    onc.locator("#main").get_by_role("link", name="New referral").click()
    onc.get_by_label("Given name").fill("Maya")
    onc.get_by_label("Family name").fill("Moorland")
    onc.get_by_label("Date of birth").fill("1962-05-14")
    onc.get_by_label("Sex").select_option("F")
    onc.get_by_label("Weight (kg)").fill("68")
    onc.get_by_label("Primary site").select_option("small_bowel")
    onc.get_by_label("Differentiation").select_option("well")
    onc.get_by_label("Ki-67 (%)").fill("4")
    onc.get_by_label("Modality").select_option("ga68_dotatate_pet")
    onc.get_by_label("Performed on").fill("2026-10-01")
    onc.get_by_label("Collected on").fill("2026-11-15")
    onc.get_by_label("Platelets", exact=True).fill("210")
    onc.get_by_label("Clinical question").fill("Is she a candidate for PRRT?")
    onc.get_by_role("button", name="Submit referral").click()
    expect(onc.locator("#referral-state")).to_have_text("Submitted")
    referral_url = onc.url

    spec = sign_in_as("specialist")
    expect(spec.get_by_role("link", name="Moorland, Maya")).to_be_visible()
    spec.get_by_role("link", name="Moorland, Maya").click()
    act(spec, "Start reviewing the referral")
    expect(spec.locator("#referral-state")).to_have_text("Under review")
    expect(spec.get_by_role("heading", name="Eligibility findings")).to_be_visible()
    spec.screenshot(full_page=True, path=str(ARTIFACTS / "referral-review.png"))
    act(spec, "Ask for more information", reason="Please send the latest CT report.")
    expect(spec.locator("#referral-state")).to_have_text("Information requested")

    onc.goto(referral_url)
    expect(onc.get_by_text("Please send the latest CT report.").first).to_be_visible()
    act(onc, "Answer the information request", reason="CT: stable disease in the liver.")
    expect(onc.locator("#referral-state")).to_have_text("Submitted")

    spec.goto(referral_url)
    act(spec, "Start reviewing the referral")
    act(spec, "Accept the referral")
    expect(spec.locator("#referral-state")).to_have_text("Accepted")

    onc.goto(f"{live_server.url}/oncologist/")
    row = onc.locator("tr", has_text="Moorland, Maya")
    expect(row.locator(".badge")).to_have_text("Accepted")
    onc.screenshot(full_page=True, path=str(ARTIFACTS / "oncologist-my-patients.png"))
