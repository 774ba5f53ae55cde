"""The navigator works the unmatched-results inbox in headless Chromium: from the menu to a
result sent for an unknown MRN, matched to the right patient; a censored value rejected."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from playwright.sync_api import expect

from interop.intake import IncomingObservation, receive_observations, store_inbound
from interop.models import Channel, UnmatchedResult
from patients.models import LabResult
from tests.conftest import ARTIFACTS
from tests.interop.hl7_builders import register

pytestmark = pytest.mark.browser


@pytest.fixture
def waiting(centre, patient):
    system = register(centre).system
    account = system.account
    drawn = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=1)
    observations = [
        IncomingObservation(result_key="BR-1/1", mrn="SYN-TYPO", loinc="777-3", value="188",
                            unit="10*9/L", collected_at=drawn, reference_range="150-400"),
        IncomingObservation(result_key="BR-1/2", mrn=patient.mrn, loinc="1742-6", value=">500",
                            unit="U/L", collected_at=drawn, reference_range="7-56"),
    ]
    from interop.auth import system_principal

    actor = system_principal(system)
    with transaction.atomic():
        message, _ = store_inbound(centre=centre, channel=Channel.HL7_HTTP, control_id="BR-1",
                                   body="MSH|^~\\&|synthetic\r", content_type="text/plain",
                                   actor=account)
        outcome = receive_observations(centre=centre, message=message,
                                       observations=observations, actor=actor)
    assert len(outcome.unmatched) == 2
    return drawn


def test_a_navigator_matches_and_rejects_from_the_inbox(page, login, navigator, patient,
                                                       waiting):
    ARTIFACTS.mkdir(exist_ok=True)
    login("navigator")
    page.get_by_role("navigation", name="Main").get_by_role("link",
                                                            name="Unmatched results").click()
    expect(page.get_by_role("heading", name="Unmatched results")).to_be_visible()
    rows = page.locator("section[aria-labelledby=h-waiting] tbody tr")
    expect(rows).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "interop-inbox.png"), full_page=True)

    rows.filter(has_text="SYN-TYPO").get_by_role("link", name="Review").click()
    expect(page.get_by_text("No patient with MRN 'SYN-TYPO'")).to_be_visible()
    page.get_by_label("Patient's MRN").fill("SYN-NOBODY")
    page.get_by_role("button", name="Match and store").click()
    expect(page.get_by_text("No patient with MRN 'SYN-NOBODY' at your centre.")).to_be_visible()
    page.get_by_label("Patient's MRN").fill(patient.mrn)
    page.screenshot(path=str(ARTIFACTS / "interop-inbox-entry.png"), full_page=True)
    page.get_by_role("button", name="Match and store").click()
    expect(page.get_by_role("status").first).to_contain_text("Matched")
    lab = LabResult.objects.get(patient=patient)
    assert (lab.analyte, lab.value, lab.unit, lab.uln) == (
        "platelets", Decimal("188"), "10^9/L", Decimal("400"))

    page.locator("section[aria-labelledby=h-waiting] tbody tr").filter(
        has_text=">500").get_by_role("link", name="Review").click()
    page.get_by_label("Why is it rejected?").fill("Censored value: asked the lab for a number.")
    page.get_by_role("button", name="Reject with this reason").click()
    expect(page.get_by_text("Nothing waits")).to_be_visible()
    assert set(UnmatchedResult.objects.values_list("state", flat=True)) == {"matched",
                                                                            "rejected"}
