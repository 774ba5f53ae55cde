"""The navigator signs in through the real login page in headless Chromium."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_navigator_logs_in_and_lands_on_the_caseload(page, live_server, login, navigator,
                                                     screenshot):
    login("navigator")
    expect(page).to_have_url(f"{live_server.url}/navigator/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Caseload")
    screenshot("navigator-home")


def test_wrong_password_shows_an_error(page, live_server, login, navigator):
    login("navigator", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
