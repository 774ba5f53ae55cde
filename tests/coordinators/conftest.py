"""Fixtures for the coordination tests: a course at the V19 dates, gateways, a real worker."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.coordinators.backends import RecordingSmsBackend
from tests.prrt.builders import approved_course

C1 = dt.date(2025, 1, 6)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _gateways(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NETCARE_SMS_BACKEND = "tests.coordinators.backends.RecordingSmsBackend"
    RecordingSmsBackend.sent = []
    RecordingSmsBackend.fail_with = None
    yield


@pytest.fixture
def before_c1(time_machine):
    """09:00 in London, 20 days before the V19 first dose (when the course is approved)."""
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def course(centre, oncologist, specialist, navigator, before_c1):
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


class WorkerProcess:
    """A real `celery worker` on the test database and Redis, in its own process group so a
    test can kill it, children included, with SIGKILL."""

    def __init__(self, outbox: Path, *, send_delay: float = 0.0, concurrency: int = 2):
        from django.db import connection

        db = connection.settings_dict
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "EMAIL_BACKEND": "tests.coordinators.backends.OutboxEmailBackend",
            "NETCARE_SMS_BACKEND": "tests.coordinators.backends.RecordingSmsBackend",
            "NETCARE_TEST_OUTBOX": str(outbox),
            "NETCARE_TEST_SEND_DELAY": str(send_delay),
        })
        self.hostname = f"netcare-coord-{uuid.uuid4().hex[:8]}@localhost"
        self.concurrency = concurrency
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "netcare", "worker", "--pool=prefork",
             f"--concurrency={concurrency}", "--loglevel=WARNING", f"--hostname={self.hostname}",
             "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=ROOT, env=env, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        from netcare.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"celery worker exited with {self.proc.returncode}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        self.kill()
        pytest.fail("celery worker did not answer within 60 s")

    def idle(self) -> bool:
        """Nothing is left for this worker: the broker's queue is empty and the worker holds no
        task, running or reserved. Asked twice, so a message the worker has just taken from the
        queue but not yet registered cannot pass for done."""
        return self._idle_once() and self._idle_once()

    def _idle_once(self) -> bool:
        from netcare.celery import app

        with app.connection_for_read() as conn:
            queued = conn.default_channel.queue_declare(
                queue=app.conf.task_default_queue).message_count
        if queued:
            return False
        inspect = app.control.inspect(destination=[self.hostname], timeout=1.0)
        active, reserved = inspect.active(), inspect.reserved()
        if active is None or reserved is None:  # no answer (yet)
            return False
        return not active.get(self.hostname) and not reserved.get(self.hostname)

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes at once: no clean shutdown."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # warm shutdown: the pool finishes its tasks
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    workers: list[WorkerProcess] = []

    def start(**options) -> WorkerProcess:
        worker = WorkerProcess(tmp_path, **options)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def seed_reminders(course, user, count: int, *, send_at, prefix: str = "t") -> list[int]:
    """`count` due email reminders about one open task of `course`, to `user`."""
    from coordinators.models import CareTask, Reminder, ReminderKind, TaskKind

    task = CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=4)
    rows = Reminder.objects.bulk_create(
        Reminder(key=f"{prefix}:{i}", kind=ReminderKind.TASK_DUE, recipient_user=user,
                 task=task, course=course, send_at=send_at) for i in range(count))
    return [r.pk for r in rows]


@pytest.fixture
def live_course(transactional_db, centre, oncologist, specialist, navigator):
    """A planned course in a committed database (for threads and worker processes)."""
    from coordinators.plan import plan_sync

    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date.today() + dt.timedelta(days=30))
    plan_sync(course=course)
    return course
