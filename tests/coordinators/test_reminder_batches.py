"""Reminders sent in batches: a claim split over send tasks, one locking statement, one
compare-and-set and one commit per batch whatever its size, one mail connection; a broken
reminder does not hold back the others; and a batch that dies before its commit re-sends nothing
(the delivery journal)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordinators import delivery
from coordinators.models import Reminder, ReminderState
from coordinators.plan import plan_sync
from tests.coordinators.conftest import seed_reminders

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def planned(course):
    plan_sync(course=course, today=D(2024, 12, 17))
    return course


def due_now(planned, navigator, count, prefix="b"):
    from django.utils import timezone

    return seed_reminders(planned, navigator, count, prefix=prefix,
                          send_at=timezone.now() - dt.timedelta(minutes=1))


@pytest.mark.parametrize(("claimed", "sizes"), [
    (1, [1]), (60, [1] * 60), (250, [3] * 83 + [1]), (1000, [10] * 100),
    (10_000, [100] * 100), (25_000, [100] * 250)])
def test_a_claim_is_spread_over_send_tasks_of_at_most_a_hundred(claimed, sizes):
    batches = delivery.send_batches(range(claimed))
    assert [len(batch) for batch in batches] == sizes
    assert [pk for batch in batches for pk in batch] == list(range(claimed))


def test_the_sweep_enqueues_what_it_claimed_at_once(planned, navigator,
                                                     django_capture_on_commit_callbacks):
    ids = due_now(planned, navigator, 30)
    calls = []
    with django_capture_on_commit_callbacks(execute=True):
        result = delivery.reminders_sweep(batch_size=7, enqueue=calls.append)
    assert calls == [result.claimed] and set(ids) <= set(result.claimed)


def test_a_batch_takes_the_same_statements_whatever_its_size(planned, navigator):
    small, large = due_now(planned, navigator, 3, "s"), due_now(planned, navigator, 40, "l")
    counts = []
    for ids in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert delivery.reminders_send(reminder_ids=ids) == {"sent": len(ids)}
        counts.append([q["sql"].split()[0] for q in queries.captured_queries])
    assert counts[0] == counts[1]
    assert counts[0].count("UPDATE") == 1  # the one compare-and-set, for the whole batch
    assert len(mail.outbox) == 43
    assert set(Reminder.objects.filter(pk__in=small + large).values_list("state", flat=True)) \
        == {ReminderState.SENT}


def test_a_batch_shares_one_mail_connection(planned, navigator, monkeypatch):
    ids = due_now(planned, navigator, 5)
    opened = []
    real = delivery.get_connection

    def counting(*args, **kwargs):
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(delivery, "get_connection", counting)
    delivery.reminders_send(reminder_ids=ids)
    assert len(opened) == 1 and len(mail.outbox) == 5


def test_what_is_not_pending_due_or_free_is_skipped(planned, navigator):
    sent, later, gone = due_now(planned, navigator, 3)
    Reminder.objects.filter(pk=sent).update(state=ReminderState.SENT,
                                            sent_at=dt.datetime.now(dt.UTC))
    Reminder.objects.filter(pk=later).update(
        send_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    Reminder.objects.filter(pk=gone).delete()
    assert delivery.reminders_send(reminder_ids=[sent, later, gone]) == {"skipped": 3}
    assert mail.outbox == []


def test_a_broken_reminder_does_not_hold_back_the_batch(planned, navigator, monkeypatch):
    first, broken, last = due_now(planned, navigator, 3)
    real = delivery._deliver

    def deliver(reminder, mail_connection=None):
        if reminder.pk == broken:
            raise ValueError("a template bug")
        return real(reminder, mail_connection)

    monkeypatch.setattr(delivery, "_deliver", deliver)
    assert delivery.reminders_send(reminder_ids=[first, broken, last]) == {"sent": 2,
                                                                           "error": 1}
    states = dict(Reminder.objects.filter(pk__in=[first, broken, last])
                  .values_list("pk", "state"))
    assert states == {first: ReminderState.SENT, broken: ReminderState.PENDING,
                      last: ReminderState.SENT}


def test_a_batch_that_dies_before_its_commit_sends_nothing_twice(planned, navigator,
                                                                 monkeypatch):
    ids = due_now(planned, navigator, 6)
    real = delivery._settle

    def dies(reminder_ids, target, **fields):
        if target == ReminderState.SENT:
            raise SystemExit("killed before the commit")
        return real(reminder_ids, target, **fields)

    monkeypatch.setattr(delivery, "_settle", dies)
    with pytest.raises(SystemExit):
        delivery.reminders_send(reminder_ids=ids)
    assert len(mail.outbox) == 6  # delivered...
    assert set(Reminder.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        ReminderState.PENDING}  # ...and not marked: rolled back with the batch

    monkeypatch.setattr(delivery, "_settle", real)
    extra = due_now(planned, navigator, 1, "x")
    assert delivery.reminders_send(reminder_ids=ids + extra) == {"sent": 7}
    assert len(mail.outbox) == 7  # the journal: the six are only marked sent now
    assert set(Reminder.objects.filter(pk__in=ids + extra).values_list("state", flat=True)) \
        == {ReminderState.SENT}
    # Once committed, their notes are gone.
    assert delivery._journal_delivered(list(Reminder.objects.filter(pk__in=ids))) == set()


def test_a_journal_note_is_for_that_reminder_only(planned, navigator):
    [pk] = due_now(planned, navigator, 1)
    reminder = Reminder.objects.get(pk=pk)
    delivery._journal_note(reminder)
    # The same key for another row (a database restored from a backup): not noted.
    other = Reminder(pk=pk, created_at=reminder.created_at + dt.timedelta(microseconds=1))
    assert delivery._journal_delivered([other]) == set()
    assert delivery._journal_delivered([reminder]) == {pk}
    delivery._journal_forget([reminder])
    assert delivery._journal_delivered([reminder]) == set()
