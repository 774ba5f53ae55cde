"""Exactly once for a batch, through the real Redis broker and real worker processes: a worker
killed with SIGKILL in the middle of a batch of 20 has delivered some of them without committing
any; after the lease they are claimed again and only marked sent (the delivery journal), the rest
are delivered, and nothing arrives twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coordinators import tasks
from coordinators.delivery import reminders_sweep
from coordinators.models import Reminder, ReminderState
from tests.coordinators.backends import delivered
from tests.coordinators.conftest import seed_reminders
from tests.coordinators.test_exactly_once import (
    after_lease,
    assert_each_delivered_once,
    sent_count,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_worker_killed_in_the_middle_of_a_batch_delivers_nothing_twice(
        live_course, navigator, start_worker, tmp_path, settings):
    ids = seed_reminders(live_course, navigator, 20,
                         send_at=timezone.now() - dt.timedelta(minutes=1), prefix="batch")
    assert set(reminders_sweep(enqueue=lambda claimed: None).claimed) >= set(ids)
    worker = start_worker(send_delay=0.05, concurrency=1)
    tasks.send_reminders.apply_async(kwargs={"reminder_ids": ids})  # one batch of 20
    wait_until(lambda: len([k for k in delivered(tmp_path) if k.startswith("batch:")]) >= 5)
    (tmp_path / "hang").touch()
    wait_until(lambda: len(list(tmp_path.glob("hanging.*"))) == 1, timeout=30)
    worker.kill()
    (tmp_path / "hang").unlink()
    before = [key for key in delivered(tmp_path) if key.startswith("batch:")]
    assert 5 <= len(before) < 20
    assert sent_count(ids) == 0  # the batch's one commit never came
    assert set(Reminder.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        ReminderState.PENDING}

    start_worker()
    reminders_sweep(now=after_lease(settings))
    wait_until(lambda: sent_count(ids) == len(ids))
    assert_each_delivered_once(tmp_path, ids)
    assert set(Reminder.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {2}
