"""Account security in headless Chromium: a specialist enrols an authenticator app from the QR
page after the password; the automatic-logoff warning, "Stay signed in", and the logoff itself."""

import base64

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from netcare.models import AuditEvent

pytestmark = pytest.mark.browser


@pytest.mark.mfa
def test_specialist_enrols_after_the_password(page, live_server, login, specialist,
                                              screenshot):
    login("specialist")
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/enrol/?next=%2F")
    expect(page.get_by_role("heading", level=1)).to_contain_text("two-factor")
    expect(page.locator(".qr-code svg")).to_be_visible()
    screenshot("enrol")
    key = base64.b32decode(page.locator(".otp-secret").inner_text().replace(" ", ""))
    page.get_by_role("textbox", name="Code").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
    expect(page.locator(".backup-codes li")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/specialist/")


def test_the_page_warns_before_the_idle_logoff_and_stay_signed_in_keeps_it(
        page, live_server, login, navigator, settings):
    settings.NETCARE_SESSION_IDLE_SECONDS = 66  # the warning (60 s before) comes after 6 s
    login("navigator")
    expect(page).to_have_url(f"{live_server.url}/navigator/")
    warning = page.locator("#session-warning")
    expect(warning).to_be_hidden()
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_contain_text("You will be signed out in about a minute")
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden(timeout=5_000)
    expect(page).to_have_url(f"{live_server.url}/navigator/")


def test_the_idle_logoff_takes_the_page_to_the_sign_in(page, live_server, login, navigator,
                                                       settings):
    settings.NETCARE_SESSION_IDLE_SECONDS = 5
    login("navigator")
    expect(page.locator("#session-warning")).to_be_visible(timeout=5_000)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=%2Fnavigator%2F",
                             timeout=20_000)
    expect(page.get_by_role("status")).to_contain_text("Signed out automatically")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGOUT, actor=navigator,
                                     note__startswith="Signed out automatically").exists()
