"""The calendar feed: parses with icalendar, lists the user's open tasks (ids only, no names),
refuses a wrong or reset token; the tasks page and the reset are for signed-in users. The database
keeps only the SHA-256 of the secret in the address, which is shown once, when it is made; a
password change or a deactivation revokes it. Events carry the tasks' own dates (the one plan): a
timed event for an appointment, all-day on the due day otherwise, and a snoozed task stays on its
due day."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import zoneinfo
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.hashers import make_password
from icalendar import Calendar

from coordinators import selectors, services
from coordinators.models import CalendarToken, CareTask, TaskKind, calendar_token_digest
from coordinators.plan import plan_sync
from netcare.models import AuditEvent
from prrt import services as prrt_services
from prrt.bookings import cycle_book
from tests.prrt.builders import enter_labs, give
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(course):
    plan_sync(course=course, today=dt.date(2024, 12, 17))
    return course


def make_feed(client, user, **extra) -> str:
    """Make (or reset) `user`'s feed from My tasks: the full address, shown this once."""
    client.force_login(user)
    response = client.post("/calendar/reset/", **extra)
    assert response.status_code == 200
    client.logout()
    return response.context["new_feed_url"]


def feed_url(client, user) -> str:
    return urlsplit(make_feed(client, user)).path


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
    new = feed_url(client, navigator)
    assert new != old
    assert CalendarToken.objects.filter(user=navigator).count() == 1
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_reset_needs_a_signed_in_post(client, navigator):
    assert client.post("/calendar/reset/").status_code == 302  # to the login page
    client.force_login(navigator)
    assert client.get("/calendar/reset/").status_code == 405


def test_inactive_users_feed_stops(client, planned, navigator):
    url = feed_url(client, navigator)
    type(navigator).objects.filter(pk=navigator.pk).update(is_active=False)  # no signals
    assert CalendarToken.objects.filter(user=navigator).exists()
    assert client.get(url).status_code == 404


def test_tasks_page_shows_the_tasks_and_offers_a_feed(client, planned, navigator):
    client.force_login(navigator)
    response = client.get("/tasks/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Infusion (cycle 1)" in page
    assert "Make a calendar address" in page
    assert not CalendarToken.objects.exists()  # a page view makes no address


def test_the_address_is_shown_once_and_only_its_hash_is_kept(client, planned, navigator):
    client.force_login(navigator)
    response = client.post("/calendar/reset/")
    address = response.context["new_feed_url"]
    secret = urlsplit(address).path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(secret) >= 40
    assert f'value="{address}"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = CalendarToken.objects.get(user=navigator)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {str(v) for v in CalendarToken.objects.values_list().get()}
    # Later visits say there is an address, but cannot show it.
    page = client.get("/tasks/").content.decode()
    assert secret not in page
    assert "Reset the calendar address" in page
    # The hash itself opens nothing.
    assert client.get(f"/calendar/{token.token_hash}.ics").status_code == 404
    assert client.get(urlsplit(address).path).status_code == 200


def test_the_migration_hashes_stored_secrets(client, planned, navigator):
    """Migration 0005 replaces each stored secret by its hash: the subscribed address keeps
    working and the stored value opens nothing."""
    from django.apps import apps

    migration = importlib.import_module("coordinators.migrations.0005_calendar_token_hashed")
    CalendarToken.objects.create(user=navigator, token_hash="an-old-plain-secret-in-the-db")
    migration.hash_secrets(apps, None)
    stored = CalendarToken.objects.get(user=navigator).token_hash
    assert stored == calendar_token_digest("an-old-plain-secret-in-the-db")
    assert client.get("/calendar/an-old-plain-secret-in-the-db.ics").status_code == 200
    assert client.get(f"/calendar/{stored}.ics").status_code == 404


# --- revoked when the password changes or the user is deactivated -----------------------------


def test_a_password_change_revokes_the_feed(client, planned, navigator):
    navigator.set_password("the-old-password-4417")
    navigator.save()
    url = feed_url(client, navigator)
    client.force_login(navigator)
    response = client.post("/accounts/password/", {
        "old_password": "the-old-password-4417", "new_password1": "a-new-password-9921",
        "new_password2": "a-new-password-9921"})
    assert response.status_code == 302
    assert not CalendarToken.objects.filter(user=navigator).exists()
    assert client.get(url).status_code == 404
    assert AuditEvent.objects.filter(
        object_type="coordinators.CalendarToken",
        note="Calendar feed address revoked: password changed").exists()


def test_a_password_set_by_an_administrator_revokes_the_feed(client, planned, navigator,
                                                             administrator):
    url = feed_url(client, navigator)
    client.force_login(administrator)
    response = client.post(f"/admin/netcare/user/{navigator.pk}/password/", {
        "password1": "set-by-the-admin-5530", "password2": "set-by-the-admin-5530",
        "usable_password": "true"})
    assert response.status_code == 302, response.context["form"].errors
    assert client.get(url).status_code == 404


def test_deactivation_revokes_the_feed_for_good(client, planned, navigator):
    url = feed_url(client, navigator)
    navigator.is_active = False
    navigator.save()
    assert not CalendarToken.objects.filter(user=navigator).exists()
    navigator.is_active = True
    navigator.save()
    assert client.get(url).status_code == 404  # reactivated: still revoked


def test_signing_in_and_a_rehash_keep_the_feed(client, planned, navigator):
    navigator.set_password("the-password-7781")
    navigator.save()
    url = feed_url(client, navigator)
    client.force_login(navigator)  # saves last_login
    # Django re-hashes an older hash of the same password at sign-in: not a password change.
    older = make_password("the-password-7781", hasher="pbkdf2_sha256")
    type(navigator).objects.filter(pk=navigator.pk).update(password=older)
    navigator.refresh_from_db()
    assert navigator.check_password("the-password-7781")
    navigator.refresh_from_db()
    assert navigator.password.startswith("argon2")
    navigator.first_name = "Renamed"
    navigator.save()
    assert client.get(url).status_code == 200


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
    response = client.post("/calendar/reset/", HTTP_HOST="127.0.0.1:8001")
    feed = response.context["new_feed_url"]
    page = response.content.decode()
    assert feed.startswith("http://127.0.0.1:8001/calendar/")
    assert f'value="{feed}"' in page
    assert "mail-links.example.org" not in page

    response = client.get(urlsplit(feed).path, HTTP_HOST="127.0.0.1:8001")
    calendar = Calendar.from_ical(response.content)
    urls = {str(e["URL"]) for e in calendar.walk("VEVENT")}
    assert f"http://127.0.0.1:8001/patients/{planned.patient.external_id}/" in urls
    assert all(url.startswith("http://127.0.0.1:8001/patients/") for url in urls)


# --- the one plan in the feed: the tasks' dates, appointments timed, snoozed on their day -----


def events_by_task(client, url) -> dict[str, object]:
    calendar = Calendar.from_ical(client.get(url).content)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def uid(task: CareTask) -> str:
    return f"caretask-{task.external_id}@netcare"


def test_every_event_is_on_its_tasks_due_day_all_day(client, planned, navigator, oncologist):
    for user in (navigator, oncologist):
        events = events_by_task(client, feed_url(client, user))
        tasks = list(selectors.tasks_held_by(user))
        assert set(events) == {uid(t) for t in tasks}
        for task in tasks:
            event = events[uid(task)]
            assert event.decoded("DTSTART") == task.due  # a date: an all-day event
            assert event.decoded("DTEND") == task.due + dt.timedelta(days=1)
            assert "LOCATION" not in event


def test_an_appointment_is_a_timed_event_at_its_place(client, planned, oncologist):
    labs = CareTask.objects.get(course=planned, kind=TaskKind.PRE_DOSE_LABS, cycle=1)
    at = dt.datetime.combine(labs.due, dt.time(8, 30), tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    services.task_set_appointment(actor=oncologist, task=labs, at=at,
                                  place="Hillview phlebotomy", note="Fasting from midnight")
    url = feed_url(client, oncologist)
    event = events_by_task(client, url)[uid(labs)]
    start = event.decoded("DTSTART")
    assert start == at and start.utcoffset() == dt.timedelta(0)
    assert event.decoded("DTEND") == at + dt.timedelta(hours=1)
    assert str(event["LOCATION"]) == "Hillview phlebotomy"
    assert start.date() == labs.due  # the appointment is on the task's day
    assert f"Due {labs.due:%d %b %Y}" in str(event["DESCRIPTION"])
    assert "Fasting" not in client.get(url).content.decode()  # notes stay in NETcare
    # Clearing the appointment makes it an all-day event on the due day again.
    services.task_set_appointment(actor=oncologist, task=labs, at=None)
    assert events_by_task(client, url)[uid(labs)].decoded("DTSTART") == labs.due


def test_a_snoozed_task_stays_on_its_due_day(client, planned, navigator, time_machine):
    infusion = CareTask.objects.get(course=planned, kind=TaskKind.INFUSION, cycle=1)
    services.task_snooze(actor=navigator, task=infusion, until=dt.date(2024, 12, 20),
                         reason="Waiting for the patient's call.")
    url = feed_url(client, navigator)
    event = events_by_task(client, url)[uid(infusion)]
    assert event.decoded("DTSTART") == infusion.due == dt.date(2025, 1, 6)
    assert "Snoozed until 20 Dec 2024." in str(event["DESCRIPTION"])
    time_machine.move_to(dt.datetime(2024, 12, 21, 9, 0, tzinfo=dt.UTC), tick=False)
    event = events_by_task(client, url)[uid(infusion)]
    assert event.decoded("DTSTART") == dt.date(2025, 1, 6)
    assert "Snoozed" not in str(event["DESCRIPTION"])


def test_the_feed_follows_the_plan_when_a_cycle_is_booked(
        client, course, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        plan_sync(course=course, today=dt.date(2024, 12, 17))
    time_machine.move_to(dt.datetime(2025, 1, 4, 9, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        enter_labs(specialist, course.patient, dt.date(2025, 1, 4))
    c1 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                     today=dt.date(2025, 1, 4))
    with django_capture_on_commit_callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                                   activity_gbq=Decimal("7.4"), today=dt.date(2025, 1, 5))
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        give(navigator, course.cycles.get(number=1), dt.date(2025, 1, 6))
        cycle_book(actor=navigator, cycle=course.cycles.get(number=2),
                   booked_date=dt.date(2025, 3, 7), booked_time=dt.time(9, 30),
                   place="Day unit 3")
    c2 = course.cycles.get(number=2)
    infusion = CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=2)
    assert c2.planned_date == infusion.due == dt.date(2025, 3, 7)
    events = events_by_task(client, feed_url(client, navigator))
    # The booked time is the infusion's appointment: a timed event on the booked day.
    start = events[uid(infusion)].decoded("DTSTART")
    assert start.date() == c2.planned_date and (start.hour, start.minute) == (9, 30)
    assert str(events[uid(infusion)].get("LOCATION")) == "Day unit 3"
    for task in selectors.tasks_held_by(navigator).filter(appointment_at__isnull=True):
        assert events[uid(task)].decoded("DTSTART") == task.due


def test_tasks_page_keeps_snoozed_tasks_apart_and_shows_appointments(client, planned,
                                                                     navigator):
    infusion = CareTask.objects.get(course=planned, kind=TaskKind.INFUSION, cycle=1)
    education = CareTask.objects.get(course=planned, kind=TaskKind.RADIATION_SAFETY_EDUCATION,
                                     cycle=1)
    services.task_snooze(actor=navigator, task=infusion, until=dt.date(2024, 12, 20),
                         reason="Waiting for the patient's call.")
    services.task_set_appointment(
        actor=navigator, task=education, place="Nurse room 2",
        at=dt.datetime(2025, 1, 6, 14, 0, tzinfo=zoneinfo.ZoneInfo("Europe/London")))
    client.force_login(navigator)
    response = client.get("/tasks/")
    assert [t.pk for t in response.context["snoozed"]] == [infusion.pk]
    assert infusion not in response.context["later"]
    page = response.content.decode()
    assert "snoozed to 20 Dec: Waiting for the patient&#x27;s call." in page
    assert "Mon 6 Jan 2025 14:00</time>, Nurse room 2" in page
