"""Exactly once through the real Redis broker and real worker processes: duplicate deliveries and
two sweeps at once, a worker killed with SIGKILL in the middle of a send, and send messages lost
with the broker (as after a Redis restart without persistence)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from coordinators.delivery import enqueue_sends, reminders_sweep
from coordinators.models import Reminder, ReminderState
from netcare.celery import app
from tests.coordinators.backends import delivered
from tests.coordinators.conftest import seed_reminders

pytestmark = pytest.mark.integration


def wait_until(condition, timeout: float = 60, interval: float = 0.1) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting")


def sent_count(ids) -> int:
    return Reminder.objects.filter(pk__in=ids, state=ReminderState.SENT).count()


def assert_each_delivered_once(folder, ids) -> None:
    keys = set(Reminder.objects.filter(pk__in=ids).values_list("key", flat=True))
    # Every reminder message carries its key; other mail (in-app notifications) has none.
    counts = Counter(key for key in delivered(folder) if key != "None")
    assert keys <= set(counts)
    assert set(counts.values()) == {1}, [k for k, n in counts.items() if n > 1]
    assert sent_count(ids) == len(ids)


def after_lease(settings) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.NETCARE_REMINDER_LEASE_SECONDS + 1)


def test_duplicates_and_two_sweeps_still_send_once(live_course, navigator, start_worker,
                                                   tmp_path):
    ids = seed_reminders(live_course, navigator, 200,
                         send_at=timezone.now() - dt.timedelta(minutes=1))
    worker = start_worker()
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait()
            reminders_sweep(batch_size=25)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    enqueue_sends(ids)  # every send task delivered a second time
    wait_until(lambda: sent_count(ids) == len(ids))
    wait_until(worker.idle)  # the duplicates have run too
    assert_each_delivered_once(tmp_path, ids)
    assert set(Reminder.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(live_course, navigator,
                                                                   start_worker, tmp_path,
                                                                   settings):
    ids = seed_reminders(live_course, navigator, 60,
                         send_at=timezone.now() - dt.timedelta(minutes=1))
    worker = start_worker(send_delay=0.05)
    reminders_sweep()
    wait_until(lambda: sent_count(ids) >= 15)
    (tmp_path / "hang").touch()  # the next sends stop in the middle
    # Every pool process stuck in a send: the sends that had already delivered have committed,
    # and nothing more is delivered or committed until the kill.
    wait_until(lambda: len(list(tmp_path.glob("hanging.*"))) == worker.concurrency, timeout=30)
    worker.kill()
    (tmp_path / "hang").unlink()
    assert sent_count(ids) < len(ids)
    seeded = [key for key in delivered(tmp_path) if key.startswith("t:")]
    assert len(seeded) == sent_count(ids)  # nothing delivered and then lost

    start_worker()
    # The queued send tasks run on the new worker; the ones the killed worker held are gone
    # with it until the broker's visibility timeout: the next sweep after the lease takes them.
    wait_until(lambda: Reminder.objects.filter(
        pk__in=ids, state=ReminderState.PENDING).count() <= 2, timeout=30)
    reminders_sweep(now=after_lease(settings))
    wait_until(lambda: sent_count(ids) == len(ids))
    assert_each_delivered_once(tmp_path, ids)


def test_send_tasks_lost_with_the_broker_are_claimed_again_after_the_lease(
        live_course, navigator, start_worker, tmp_path, settings):
    ids = seed_reminders(live_course, navigator, 30,
                         send_at=timezone.now() - dt.timedelta(minutes=1))
    assert set(reminders_sweep().claimed) >= set(ids)
    app.control.purge()  # what a Redis restart without persistence does to the queue
    worker = start_worker()
    assert reminders_sweep().claimed == []  # still leased
    wait_until(worker.idle)  # whatever the broker still held has run
    assert sent_count(ids) == 0
    reminders_sweep(now=after_lease(settings))
    wait_until(lambda: sent_count(ids) == len(ids))
    assert_each_delivered_once(tmp_path, ids)
