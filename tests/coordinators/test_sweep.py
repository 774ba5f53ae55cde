"""The sweep on PostgreSQL: concurrent sweeps take disjoint rows, leases, and a send already in
progress is never repeated."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from coordinators import delivery
from coordinators.models import Reminder, ReminderState
from tests.coordinators.conftest import seed_reminders


def in_thread(target, results, name):
    def run():
        try:
            results[name] = target()
        finally:
            connection.close()
    return threading.Thread(target=run, name=name)


def test_two_sweeps_at_the_same_moment_claim_disjoint_rows(live_course, navigator):
    now = timezone.now()
    ids = seed_reminders(live_course, navigator, 3000, send_at=now - dt.timedelta(minutes=1))
    barrier = threading.Barrier(2)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    results: dict = {}

    def sweep(name):
        def run():
            barrier.wait()
            return delivery.reminders_sweep(now=now, batch_size=100,
                                            enqueue=lambda batch: claimed[name].extend(batch))
        return run

    threads = [in_thread(sweep(name), results, name) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert claimed["a"] and claimed["b"], "both sweeps should have claimed work"
    assert not set(claimed["a"]) & set(claimed["b"])
    assert set(ids) <= set(claimed["a"]) | set(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == len(set(claimed["a"]) | set(claimed["b"]))
    assert set(Reminder.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_a_claim_is_taken_again_only_after_its_lease(live_course, navigator, settings):
    now = timezone.now()
    [pk] = seed_reminders(live_course, navigator, 1, send_at=now - dt.timedelta(minutes=1))
    assert pk in delivery.reminders_sweep(now=now, enqueue=lambda ids: None).claimed
    later = now + dt.timedelta(seconds=settings.NETCARE_REMINDER_LEASE_SECONDS - 1)
    assert pk not in delivery.reminders_sweep(now=later, enqueue=lambda ids: None).claimed
    expired = now + dt.timedelta(seconds=settings.NETCARE_REMINDER_LEASE_SECONDS + 1)
    assert pk in delivery.reminders_sweep(now=expired, enqueue=lambda ids: None).claimed


def test_a_second_delivery_during_a_send_does_not_send_again(live_course, navigator,
                                                             monkeypatch):
    now = timezone.now()
    [pk] = seed_reminders(live_course, navigator, 1, send_at=now - dt.timedelta(minutes=1))
    inside, release = threading.Event(), threading.Event()
    real_send = delivery.EmailMultiAlternatives.send

    def slow_send(self, *args, **kwargs):
        inside.set()
        release.wait(20)
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(delivery.EmailMultiAlternatives, "send", slow_send)
    results: dict = {}
    first = in_thread(lambda: delivery.reminder_send(reminder_id=pk), results, "first")
    first.start()
    assert inside.wait(20)
    assert delivery.reminder_send(reminder_id=pk) == "skipped"  # locked by the first send
    release.set()
    first.join(20)
    assert results["first"] == "sent"
    assert delivery.reminder_send(reminder_id=pk) == "skipped"  # already sent
    assert len(mail.outbox) == 1
    assert Reminder.objects.get(pk=pk).state == ReminderState.SENT


@pytest.mark.parametrize("state", [ReminderState.SENT, ReminderState.CANCELLED,
                                   ReminderState.FAILED])
def test_sweep_never_claims_finished_reminders(live_course, navigator, state):
    now = timezone.now()
    [pk] = seed_reminders(live_course, navigator, 1, send_at=now - dt.timedelta(minutes=1))
    Reminder.objects.filter(pk=pk).update(state=state, sent_at=now)
    assert pk not in delivery.reminders_sweep(now=now, enqueue=lambda ids: None).claimed
