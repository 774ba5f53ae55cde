"""Exactly once when the services fail: Redis killed and started again while reminders are being
swept, PostgreSQL restarted while they are being sent. Every due reminder is sent once, none is
lost, none is given up on.

NETcare's processes (a real Celery worker and a sweeper that runs the minute sweep in a loop, as
beat would with less waiting) run against a throwaway PostgreSQL cluster and a throwaway Redis
(tests/throwaway.py), never the machine's shared servers. The data is built with the usual
fixtures in the test database and copied into the throwaway cluster. The lease is 5 s instead of
300 s so that the claims a fault strands are taken again within the test; with a lease that short
a busy machine also claims again sends that are merely slow, so the test allows more attempts
than production's 5 before giving up (a reminder given up on would fail the test as lost).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg2
import pytest
from django.utils import timezone

from tests.coordinators.backends import delivered
from tests.coordinators.conftest import seed_reminders
from tests.coordinators.test_exactly_once import wait_until
from tests.throwaway import (
    ThrowawayPostgres,
    ThrowawayRedis,
    copy_database,
    libpq_url,
    session_database_url,
    throwaway_servers,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 5

SWEEPER = """
import logging, time
import django
django.setup()
from django.db import close_old_connections
from coordinators.delivery import reminders_sweep

while True:
    try:
        result = reminders_sweep()
        if result.claimed:
            print("claimed", len(result.claimed), flush=True)
    except Exception as exc:  # beat's next tick tries again; so does this loop
        print("sweep failed:", type(exc).__name__, flush=True)
    close_old_connections()
    time.sleep(0.3)
"""


@pytest.fixture(scope="module")
def servers():
    with throwaway_servers() as both:
        yield both


class Stack:
    """NETcare's background processes on the throwaway servers, and a view of their database."""

    def __init__(self, postgres: ThrowawayPostgres, redis: ThrowawayRedis, database_url: str,
                 outbox: Path):
        self.postgres, self.redis, self.outbox = postgres, redis, outbox
        self.database_url = database_url
        self.procs: list[subprocess.Popen] = []
        self.stopping = threading.Event()
        self.env = {**os.environ,
                    "DATABASE_URL": database_url,
                    "REDIS_URL": redis.url(),
                    "DATABASE_CONN_MAX_AGE": "60",  # as in production: connections are kept
                    "NETCARE_REMINDER_LEASE_SECONDS": str(LEASE_SECONDS),
                    "NETCARE_REMINDER_MAX_ATTEMPTS": "50",
                    "EMAIL_BACKEND": "tests.coordinators.fault_backends.PausingOutboxEmailBackend",
                    "NETCARE_SMS_BACKEND": "tests.coordinators.backends.RecordingSmsBackend",
                    "NETCARE_TEST_OUTBOX": str(outbox)}

    def _spawn(self, args: list[str], log: str, **env: str) -> subprocess.Popen:
        with open(self.outbox / log, "ab") as out:
            proc = subprocess.Popen(args, cwd=ROOT, env={**self.env, **env}, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_worker(self, *, send_delay: float = 0.0) -> None:
        """A worker, supervised as docker-compose.yml has it (`restart: unless-stopped`): the
        Redis transport can make a worker exit when Redis goes away under it."""
        def spawn() -> subprocess.Popen:
            return self._spawn([sys.executable, "-m", "celery", "-A", "netcare", "worker",
                                "--pool=prefork", "--concurrency=2", "--loglevel=WARNING",
                                f"--hostname=netcare-faults-{uuid.uuid4().hex[:8]}@localhost",
                                "--without-mingle", "--without-gossip", "--without-heartbeat"],
                               "worker.log", NETCARE_TEST_SEND_DELAY=str(send_delay))

        def supervise(proc: subprocess.Popen) -> None:
            while not self.stopping.wait(0.5):
                if proc.poll() is not None:
                    with open(self.outbox / "worker.log", "a") as log:
                        log.write(f"--- worker exited ({proc.returncode}): started again\n")
                    proc = spawn()

        threading.Thread(target=supervise, args=(spawn(),), daemon=True).start()

    def start_sweeper(self) -> None:
        self._spawn([sys.executable, "-c", SWEEPER], "sweeper.log",
                    DJANGO_SETTINGS_MODULE="netcare.settings")

    def stop(self) -> None:
        """Everything killed at once: the test has what it needs from them."""
        self.stopping.set()
        time.sleep(0.6)  # the supervisor has seen it
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=20)

    def rows(self, ids) -> list[tuple]:
        """(id, key, state, attempts) of the reminders `ids`, read from the throwaway database;
        [] while it is down."""
        try:
            with psycopg2.connect(libpq_url(self.database_url), connect_timeout=2) as conn, \
                    conn.cursor() as cursor:
                cursor.execute("SELECT id, key, state, attempts FROM coordinators_reminder "
                               "WHERE id = ANY(%s) ORDER BY id", (list(ids),))
                rows = cursor.fetchall()
            conn.close()
            return rows
        except psycopg2.OperationalError:
            return []

    def execute(self, sql: str, params) -> None:
        with psycopg2.connect(libpq_url(self.database_url)) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
        conn.close()

    def release(self, ids) -> None:
        """The reminders `ids` fall due now."""
        self.execute("UPDATE coordinators_reminder SET send_at = now() WHERE id = ANY(%s)",
                     (list(ids),))

    def sent(self, ids) -> int:
        return sum(1 for _, _, state, _ in self.rows(ids) if state == "sent")

    def claimed(self, ids) -> int:
        return sum(1 for _, _, _, attempts in self.rows(ids) if attempts >= 1)

    def log(self, name: str) -> str:
        path = self.outbox / name
        return path.read_text(errors="replace") if path.exists() else ""

    def assert_each_sent_once(self, ids) -> list[int]:
        """Every reminder `ids` sent, each delivered exactly once, nothing else delivered twice;
        returns their attempt counts."""
        rows = self.rows(ids)
        assert len(rows) == len(ids)
        states = Counter(state for _, _, state, _ in rows)
        assert states == {"sent": len(ids)}, states
        counts = Counter(key for key in delivered(self.outbox) if key != "None")
        assert {key for _, key, _, _ in rows} <= set(counts)  # nothing lost
        twice = [key for key, n in counts.items() if n > 1]
        assert not twice, f"delivered more than once: {twice}"
        return [attempts for _, _, _, attempts in rows]


@pytest.fixture
def stack(live_course, navigator, servers, tmp_path):
    """Reminders seeded in the test database (due in an hour), copied to the throwaway cluster,
    and a Stack on it; its processes are stopped after the test."""
    postgres, redis = servers
    ids = seed_reminders(live_course, navigator, 90,
                         send_at=timezone.now() + dt.timedelta(hours=1), prefix="fault")
    url = copy_database(source_url=session_database_url(), server=postgres,
                        name=f"faults_{uuid.uuid4().hex[:8]}")
    running = Stack(postgres, redis, url, tmp_path)
    running.ids = ids
    yield running
    running.stop()
    if redis.proc is None or redis.proc.poll() is not None:
        redis.start()  # for the next test, whatever this one left
    redis_flush(redis)


def redis_flush(redis: ThrowawayRedis) -> None:
    import redis as redis_py

    redis_py.Redis.from_url(redis.url()).flushall()


def test_redis_killed_and_started_again_during_sweeps_loses_and_repeats_nothing(stack):
    ids = stack.ids
    first, second, third = ids[:30], ids[30:60], ids[60:]
    stack.start_worker()
    stack.start_sweeper()
    stack.release(first)
    wait_until(lambda: stack.sent(first) >= 10, timeout=30)

    stack.redis.stop()  # queued sends, the results and the delivery journal are gone with it
    stack.release(second)
    # The sweeps go on: they claim the second wave and cannot hand it to the broker.
    wait_until(lambda: stack.claimed(second) == len(second), timeout=15)
    wait_until(lambda: "sweep failed: OperationalError" in stack.log("sweeper.log"), timeout=15)
    assert stack.sent(second) == 0
    stack.redis.start()

    stack.release(third)
    wait_until(lambda: stack.sent(ids) == len(ids), timeout=40)
    attempts = stack.assert_each_sent_once(ids)
    # The second wave's claims were stranded by the outage and taken again after their lease.
    assert min(attempts[30:60]) >= 2


def test_postgresql_restarted_during_sends_loses_and_repeats_nothing(stack):
    ids = stack.ids
    stack.start_worker(send_delay=0.02)
    stack.start_sweeper()
    stack.release(ids)
    wait_until(lambda: len(delivered(stack.outbox)) >= 20, timeout=30)
    # Both pool processes stop right after a delivery, inside a batch that has not committed.
    (stack.outbox / "pause").touch()
    wait_until(lambda: len(list(stack.outbox.glob("paused.*"))) == 2, timeout=15)

    stack.postgres.restart()  # every session ended, their transactions rolled back
    gone = set(delivered(stack.outbox))
    uncommitted = [key for _, key, state, _ in stack.rows(ids) if key in gone and state != "sent"]
    assert len(uncommitted) >= 2  # delivered, and the database does not know it
    (stack.outbox / "pause").unlink()

    wait_until(lambda: stack.sent(ids) == len(ids), timeout=40)
    attempts = stack.assert_each_sent_once(ids)
    # The interrupted batches were claimed again after their lease; the delivery journal had
    # their delivered reminders marked sent without sending them again.
    assert max(attempts) >= 2
