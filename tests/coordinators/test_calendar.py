"""The calendar feed: parses with icalendar, lists the user's open tasks (ids only, no names),
refuses a wrong or reset token; the tasks page and the reset are for signed-in users."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar

from coordinators import services
from coordinators.models import CalendarToken, CareTask, TaskKind
from coordinators.plan import plan_sync
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(course):
    plan_sync(course=course, today=dt.date(2024, 12, 17))
    return course


def feed_url(client, user) -> str:
    client.force_login(user)
    client.get("/tasks/")
    client.logout()
    return f"/calendar/{CalendarToken.objects.get(user=user).token}.ics"


def test_feed_parses_and_lists_the_navigators_open_tasks(client, planned, navigator):
    url = feed_url(client, navigator)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    centre_tasks = CareTask.objects.filter(course=planned, owner_party="centre", state="open")
    assert len(events) == centre_tasks.count()
    infusion = centre_tasks.get(kind=TaskKind.INFUSION, cycle=2)
    [event] = [e for e in events if str(e["UID"]) == f"caretask-{infusion.external_id}@netcare"]
    assert event.decoded("DTSTART") == dt.date(2025, 3, 3)
    assert event.decoded("DTEND") == dt.date(2025, 3, 4)
    assert str(event["SUMMARY"]) == "NETcare: Infusion (cycle 2)"
    body = response.content.decode()
    assert planned.patient.family_name not in body and planned.patient.mrn not in body


def test_practice_tasks_are_in_the_oncologists_feed(client, planned, oncologist):
    calendar = Calendar.from_ical(client.get(feed_url(client, oncologist)).content)
    summaries = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    assert "NETcare: Pre-dose labs (cycle 1)" in summaries
    assert "NETcare: Infusion (cycle 1)" not in summaries


def test_done_tasks_leave_the_feed(client, planned, navigator):
    url = feed_url(client, navigator)
    infusion = CareTask.objects.get(course=planned, kind=TaskKind.INFUSION, cycle=1)
    services.task_complete(actor=navigator, task=infusion)
    calendar = Calendar.from_ical(client.get(url).content)
    assert f"caretask-{infusion.external_id}@netcare" not in {
        str(e["UID"]) for e in calendar.walk("VEVENT")}


def test_wrong_token_is_refused(client, planned, navigator):
    feed_url(client, navigator)
    assert client.get("/calendar/not-the-token.ics").status_code == 404
    assert client.get(f"/calendar/{'x' * 80}.ics").status_code == 404


def test_outsiders_feed_has_none_of_our_tasks(client, planned, outside_navigator):
    calendar = Calendar.from_ical(client.get(feed_url(client, outside_navigator)).content)
    assert list(calendar.walk("VEVENT")) == []


def test_reset_replaces_the_token(client, planned, navigator):
    old = feed_url(client, navigator)
    client.force_login(navigator)
    response = client.post("/calendar/reset/")
    assert response.status_code == 302
    new = f"/calendar/{CalendarToken.objects.get(user=navigator).token}.ics"
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_reset_needs_a_signed_in_post(client, navigator):
    assert client.post("/calendar/reset/").status_code == 302  # to the login page
    client.force_login(navigator)
    assert client.get("/calendar/reset/").status_code == 405


def test_inactive_users_feed_stops(client, planned, navigator):
    url = feed_url(client, navigator)
    navigator.is_active = False
    navigator.save()
    assert client.get(url).status_code == 404


def test_tasks_page_shows_the_feed_and_the_tasks(client, planned, navigator):
    client.force_login(navigator)
    response = client.get("/tasks/")
    assert response.status_code == 200
    token = CalendarToken.objects.get(user=navigator).token
    assert f"/calendar/{token}.ics" in response.content.decode()
    assert "Infusion (cycle 1)" in response.content.decode()


def test_feed_query_count_does_not_grow_with_the_tasks(client, planned, navigator):
    url = feed_url(client, navigator)
    # token + user + centre, the tasks with patient/course/owner, the audit row
    with assert_queries(3):
        response = client.get(url)
    assert response.status_code == 200


def test_feed_address_and_its_links_follow_the_address_in_use(client, planned, navigator,
                                                              settings):
    """Served on another port (`make run PORT=8001`), the page and the feed link back to it, not
    to NETCARE_BASE_URL, which is for emails only."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.NETCARE_BASE_URL = "http://mail-links.example.org"
    client.force_login(navigator)
    page = client.get("/tasks/", HTTP_HOST="127.0.0.1:8001").content.decode()
    token = CalendarToken.objects.get(user=navigator).token
    feed = f"http://127.0.0.1:8001/calendar/{token}.ics"
    assert f'value="{feed}"' in page
    assert "mail-links.example.org" not in page

    response = client.get(f"/calendar/{token}.ics", HTTP_HOST="127.0.0.1:8001")
    calendar = Calendar.from_ical(response.content)
    urls = {str(e["URL"]) for e in calendar.walk("VEVENT")}
    assert f"http://127.0.0.1:8001/patients/{planned.patient.external_id}/" in urls
    assert all(url.startswith("http://127.0.0.1:8001/patients/") for url in urls)
