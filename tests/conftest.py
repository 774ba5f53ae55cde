"""Shared fixtures: the personas every access test uses, real services, and the browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.cache import cache

from netcare.models import Role
from tests.factories import CentreFactory, PatientFactory, PracticeFactory, UserFactory

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_sessionstart(session):
    """With NETCARE_REQUIRE_SERVICES=1 (make test) the suite must run on PostgreSQL and Redis:
    a missing service fails the run instead of silently testing something else."""
    if os.environ.get("NETCARE_REQUIRE_SERVICES") != "1":
        return
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(f"The suite needs PostgreSQL (DATABASE_URL), got {engine}.", returncode=3)
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.exit(f"The suite needs Redis at REDIS_URL: {exc}", returncode=3)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Counters kept in the cache start clean in every test (the sign-in failure counts live in
    the database, which each test's transaction already resets)."""
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _mfa_only_where_tested(request, settings):
    """Two-factor authentication is off unless the test is marked `@pytest.mark.mfa`.

    Outside DEBUG, NETCARE_MFA_REQUIRED_ROLES defaults to administrators and specialists, who
    would then be sent to enrol or verify before every page, and the admin site would refuse
    them. The tests of pages, the API and the browser journeys sign people in with
    `client.force_login` or the password alone (`sign_in_page`), so this empties the setting for
    them. Tests of two-factor authentication itself carry the `mfa` marker and get the
    production default (or set the roles they need).
    """
    if request.node.get_closest_marker("mfa") is None:
        settings.NETCARE_MFA_REQUIRED_ROLES = []


# --- personas -------------------------------------------------------------------------------


@pytest.fixture
def centre(db):
    return CentreFactory(name="Riverside NET Centre")


@pytest.fixture
def other_centre(db):
    return CentreFactory(name="Elsewhere NET Centre")


@pytest.fixture
def practice(db):
    return PracticeFactory(name="Hillview Oncology Practice")


@pytest.fixture
def practice2(db):
    return PracticeFactory(name="Lakeside Cancer Clinic")


@pytest.fixture
def navigator(centre):
    return UserFactory(username="navigator", role=Role.NAVIGATOR, centre=centre)


@pytest.fixture
def specialist(centre):
    return UserFactory(username="specialist", role=Role.SPECIALIST, centre=centre)


@pytest.fixture
def oncologist(practice):
    return UserFactory(username="oncologist", role=Role.REFERRING_ONCOLOGIST, centre=practice)


@pytest.fixture
def oncologist2(practice2):
    return UserFactory(username="oncologist2", role=Role.REFERRING_ONCOLOGIST, centre=practice2)


@pytest.fixture
def outside_specialist(other_centre):
    return UserFactory(username="outsider", role=Role.SPECIALIST, centre=other_centre)


@pytest.fixture
def outside_navigator(other_centre):
    return UserFactory(username="outsidenav", role=Role.NAVIGATOR, centre=other_centre)


@pytest.fixture
def administrator(centre):
    return UserFactory(username="admin", role=Role.ADMINISTRATOR, centre=centre,
                       is_staff=True, is_superuser=True)


@pytest.fixture
def patient(centre, oncologist):
    return PatientFactory(centre=centre, referring_oncologist=oncologist)


# --- browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded browser; no background network traffic."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }


@pytest.fixture
def screenshot(page, request):
    """Save a screenshot of the current page as a test artefact under test-artifacts/."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in_page(page, base_url: str, username: str, password: str | None = None) -> None:
    """Sign in through the real login page."""
    from django.conf import settings

    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or settings.NETCARE_DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def login(page, live_server):
    """Sign in as `username` on the test's page."""

    def do_login(username: str, password: str | None = None) -> None:
        sign_in_page(page, live_server.url, username, password)

    return do_login


@pytest.fixture
def sign_in_as(browser, live_server):
    """A new browser context signed in as `username`, for tests with several people."""
    contexts = []

    def open_as(username: str):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        sign_in_page(page, live_server.url, username)
        return page

    yield open_as
    for context in contexts:
        context.close()


# --- a real Celery worker -------------------------------------------------------------------


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the test database and the real Redis broker, for the
    tests of one module: stopped after them, so it never takes the tasks of a later module that
    starts workers of its own (with other backends) on the same broker.

    Tests whose tasks read rows must use `transactional_db` so the worker can see them.
    """
    import subprocess
    import sys
    import time

    from django.db import connection

    from netcare.celery import app

    with django_db_blocker.unblock():
        db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    hostname = f"netcare-test-{os.getpid()}@localhost"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "netcare", "worker", "--pool=prefork",
         "--concurrency=2", "--loglevel=WARNING", f"--hostname={hostname}", "--without-mingle",
         "--without-gossip"],
        cwd=Path(__file__).resolve().parent.parent, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}")
        replies = app.control.ping(destination=[hostname], timeout=1.0)
        if replies:
            break
    else:
        proc.kill()
        pytest.fail("celery worker did not answer within 60 s")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
