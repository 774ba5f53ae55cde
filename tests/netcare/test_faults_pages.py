"""Pages while a service is down: NETcare served by gunicorn (as in production) on a throwaway
PostgreSQL and Redis (tests/throwaway.py), which the test stops and starts again. Every answer is
200 or a clear 503 naming what did not answer, never a 500; once the service is back, the next
requests are 200 again."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.throwaway import (
    LOCALHOST,
    copy_database,
    free_port,
    session_database_url,
    throwaway_servers,
    wait_for_port,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def servers():
    with throwaway_servers() as both:
        yield both


def get(port: int, path: str, session: str | None = None) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection(LOCALHOST, port, timeout=30)
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"} if session else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body, dict(response.getheaders())


@pytest.fixture
def site(transactional_db, client, navigator, patient, servers, tmp_path):
    """gunicorn (two workers, kept database connections as in production) on a copy of the test
    database in the throwaway cluster; yields (port, the navigator's session cookie, patient)."""
    postgres, redis = servers
    client.force_login(navigator)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    url = copy_database(source_url=session_database_url(), server=postgres,
                        name=f"pages_{uuid.uuid4().hex[:8]}")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis.url(),
           "DATABASE_CONN_MAX_AGE": "60", "DEBUG": "0", "ALLOWED_HOSTS": LOCALHOST}
    with open(tmp_path / "gunicorn.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "netcare.wsgi:application", "--bind",
             f"{LOCALHOST}:{port}", "--workers", "2", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, timeout=60)
        yield port, session, patient
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def assert_all(port, session, paths, status, *, contains: str = "") -> None:
    # Each page several times, so that both gunicorn workers answer it.
    for _ in range(3):
        for path in paths:
            code, body, headers = get(port, path, session)
            assert code == status, (path, code, body[:500])
            if status == 503:
                assert headers.get("Retry-After"), path
                assert contains in body, (path, body[:500])
                assert "Traceback" not in body


def test_pages_answer_200_or_a_clear_503_while_a_service_is_down(site, servers):
    port, session, patient = site
    postgres, redis = servers
    pages = ["/navigator/", f"/patients/{patient.external_id}/", "/api/v1/patients/"]
    assert_all(port, session, ["/healthz", *pages], 200)

    redis.stop()
    try:
        code, body, _ = get(port, "/healthz")
        assert code == 503
        assert json.loads(body)["broker"].startswith("unavailable")
        # Sessions are kept in the database too: signed-in pages go on without the cache.
        assert_all(port, session, pages, 200)
    finally:
        redis.start()
    assert_all(port, session, ["/healthz", *pages], 200)

    postgres.stop()
    try:
        code, body, _ = get(port, "/healthz")
        assert code == 503
        assert json.loads(body)["database"].startswith("unavailable")
        assert_all(port, session, pages[:2], 503, contains="The database did not answer")
        assert_all(port, session, pages[2:], 503, contains='"detail": "The database')
    finally:
        postgres.start()
    assert_all(port, session, ["/healthz", *pages], 200)

    # A restart between two requests: the connections each worker kept from before it are
    # checked before use, never handed to a request dead.
    postgres.restart()
    assert_all(port, session, [*pages, "/healthz"], 200)
