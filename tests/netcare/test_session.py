"""Automatic logoff: 15 minutes without activity, 12 hours after signing in, a session cookie that
ends with the browser; every logoff audited with its reason."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from netcare.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "netcare-demo"
START = dt.datetime(2025, 3, 3, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def signed_in(client, navigator, time_machine):
    time_machine.move_to(START, tick=False)
    response = client.post(reverse("login"), {"username": "navigator", "password": PASSWORD})
    assert response.status_code == 302
    return client


def at(time_machine, **delta):
    time_machine.move_to(START + dt.timedelta(**delta), tick=False)


def logouts():
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.LOGOUT).order_by("id"))


def test_the_defaults():
    assert django_settings.NETCARE_SESSION_IDLE_SECONDS == 15 * 60
    assert django_settings.NETCARE_SESSION_ABSOLUTE_SECONDS == 12 * 3600
    assert django_settings.NETCARE_SESSION_WARNING_SECONDS == 60
    assert django_settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_signing_out_is_audited(client, navigator):
    client.force_login(navigator)
    assert client.post(reverse("logout")).status_code == 302
    [row] = logouts()
    assert row.actor == navigator and row.note == "Signed out"


def test_idle_logoff_after_fifteen_minutes(signed_in, navigator, time_machine):
    page = reverse("navigator-home")
    at(time_machine, minutes=14, seconds=59)
    assert signed_in.get(page).status_code == 200
    at(time_machine, minutes=29, seconds=58)  # activity at 14:59 moved the limit
    assert signed_in.get(page).status_code == 200
    at(time_machine, minutes=45)
    response = signed_in.get(page)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fnavigator%2F"
    assert "_auth_user_id" not in signed_in.session
    [row] = logouts()
    assert row.actor == navigator
    assert row.note == "Signed out automatically after 15 minutes without activity"
    login_page = signed_in.get(response["Location"])
    assert "Signed out automatically after 15 minutes" in login_page.content.decode()


def test_absolute_logoff_twelve_hours_after_signing_in(signed_in, navigator, time_machine):
    page = reverse("navigator-home")
    for minutes in range(10, 12 * 60, 10):  # busy all day long
        at(time_machine, minutes=minutes)
        assert signed_in.get(page).status_code == 200, minutes
    at(time_machine, hours=12, seconds=1)
    response = signed_in.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    [row] = logouts()
    assert row.note == "Signed out automatically 12 hours after signing in"


def test_the_limits_follow_the_settings(signed_in, time_machine, settings):
    settings.NETCARE_SESSION_IDLE_SECONDS = 60
    at(time_machine, seconds=61)
    assert signed_in.get(reverse("navigator-home")).status_code == 302


def test_the_session_cookie_ends_with_the_browser(signed_in):
    response = signed_in.get(reverse("navigator-home"))
    assert response.status_code == 200
    cookie = signed_in.cookies[django_settings.SESSION_COOKIE_NAME]
    assert not cookie["expires"] and not cookie["max-age"]


def test_the_status_check_reads_the_clock_without_moving_it(signed_in, time_machine):
    status = reverse("session-status")
    at(time_machine, minutes=10)
    body = signed_in.get(status).json()
    assert body == {"authenticated": True, "idle_remaining": 5 * 60,
                    "absolute_remaining": 12 * 3600 - 10 * 60}
    at(time_machine, minutes=14)
    assert signed_in.get(status).json()["idle_remaining"] == 60
    # "Stay signed in" (a POST) is activity.
    assert signed_in.post(status).json()["idle_remaining"] == 15 * 60
    at(time_machine, minutes=29, seconds=1)
    assert signed_in.get(status).json()["authenticated"] is False
    assert logouts()[0].note.startswith("Signed out automatically after 15 minutes")


def test_an_htmx_request_after_the_logoff_leaves_the_page(signed_in, time_machine):
    at(time_machine, minutes=16)
    response = signed_in.get(reverse("navigator-home"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")


def test_the_api_answers_403_after_the_logoff(signed_in, time_machine):
    at(time_machine, minutes=16)
    assert signed_in.get("/api/v1/patients/").status_code == 403


def test_pages_carry_the_clock_for_the_warning(signed_in, time_machine):
    at(time_machine, minutes=10)
    body = signed_in.get(reverse("navigator-home")).content.decode()
    assert 'data-session-idle="900"' in body
    assert f'data-session-absolute="{12 * 3600 - 10 * 60}"' in body
    assert 'data-session-warning="60"' in body
    assert "netcare/session.js" in body and 'id="session-warning"' in body


def _session_writes(client, page) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(page).status_code == 200
    return sum('"django_session"' in query["sql"] and query["sql"].startswith(("UPDATE", "INSERT"))
               for query in captured.captured_queries)


def test_activity_is_recorded_in_steps_of_ten_seconds(signed_in, time_machine):
    """A request within 10 s of the last recorded activity writes no session; the next one after
    them moves the idle limit."""
    page = reverse("navigator-home")
    at(time_machine, seconds=9)
    assert _session_writes(signed_in, page) == 0
    at(time_machine, seconds=10)
    assert _session_writes(signed_in, page) == 1
    at(time_machine, seconds=19)
    assert _session_writes(signed_in, page) == 0
    at(time_machine, minutes=15, seconds=9)  # 15 minutes after the activity at 0:10, not 0:19
    assert signed_in.get(page).status_code == 200
    at(time_machine, minutes=30, seconds=10)
    assert signed_in.get(page).status_code == 302
