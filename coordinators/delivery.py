"""Reminders: the sweep that claims due ones and the sends that deliver each exactly once.

The database is the queue. :func:`reminders_sweep` claims due rows with a lease and hands them to
send tasks in batches (:func:`send_batches`). :func:`reminders_send` sends a batch in one
transaction: one ``SELECT … FOR UPDATE SKIP LOCKED`` locks the batch's rows and loads the task,
people and course each message needs; each is checked and delivered over one mail connection;
one compare-and-set marks the delivered ones sent; one commit. Nothing in the future is ever
given to Celery as an ETA or countdown. State changes go through
:func:`coordinators.reminders.reminders_set_state`.

Exactly once with one commit per batch: each delivery is noted in the delivery journal (the
cache) as soon as the gateway has it, so a worker killed before its batch commits re-sends
nothing; the reminders are claimed again after their lease and the journal has them marked sent
without sending. The batch's row locks last until its commit: a plan change that moves or
cancels a reminder being sent waits for the batch (at most SEND_BATCH sends), as it waited for
the one send before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from smtplib import SMTPException

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from coordinators.models import Channel, Reminder, ReminderKind, ReminderState, TaskState
from coordinators.reminders import reminders_set_state
from coordinators.selectors import navigator_digest
from coordinators.sms import SmsError, send_sms
from netcare.notifications import centre_navigators, notify

logger = logging.getLogger(__name__)


SEND_ERRORS = (SMTPException, OSError, SmsError)

# A claim is spread over about SEND_SPREAD send tasks of at most SEND_BATCH reminders each: a
# trickle goes out one reminder per task, in parallel; a backlog in batches that share the work
# of a task and of a mail connection. A worker lost in the middle of a batch holds back the rest
# of that batch until the lease ends (nothing is lost, nothing is sent twice).
SEND_BATCH = 100
SEND_SPREAD = 100

# Everything a send reads besides the reminder, loaded by the statement that locks it.
_RELATED = ("task__owner_user", "task__patient", "recipient_user", "recipient_patient",
            "course__centre")


@dataclass
class SweepResult:
    claimed: list[int] = dataclasses.field(default_factory=list)
    given_up: list[int] = dataclasses.field(default_factory=list)


def send_batches(ids: Sequence[int]) -> list[list[int]]:
    """`ids` in batches for the send tasks: about SEND_SPREAD of them, at most SEND_BATCH ids
    each, in claim order."""
    ids = list(ids)
    size = min(SEND_BATCH, max(1, -(-len(ids) // SEND_SPREAD)))
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def enqueue_sends(ids: Sequence[int], *, queue: str | None = None) -> None:
    """The claimed reminders to the send tasks, in batches, over one broker connection."""
    # The Celery task module imports this one (its tasks call the sweep and the send).
    from coordinators import tasks

    options = {"queue": queue} if queue else {}
    with tasks.send_reminders.app.producer_or_acquire() as producer:
        for batch in send_batches(ids):
            tasks.send_reminders.apply_async(kwargs={"reminder_ids": batch},
                                             producer=producer, **options)


def reminders_sweep(*, now: dt.datetime | None = None, batch_size: int | None = None,
                    max_batches: int | None = None,
                    enqueue: Callable[[Sequence[int]], None] | None = None) -> SweepResult:
    """Claim the due reminders and enqueue their sends (beat runs this every minute).

    Each batch is one transaction: lock due, unclaimed (or lease-expired) pending rows with
    ``FOR UPDATE SKIP LOCKED`` so concurrent sweeps take disjoint rows, set their lease and count
    the attempt, commit. The committed claims are enqueued together at the end (every
    SEND_SPREAD × SEND_BATCH of them on a long sweep), so a backlog goes out in full batches. A
    claim whose send never finished (killed worker, message lost with the broker) is claimed
    again after the lease; one that has used every attempt is marked failed and shown to the
    navigators instead.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.NETCARE_REMINDER_SWEEP_BATCH
    enqueue = enqueue or enqueue_sends
    lease_until = now + dt.timedelta(seconds=settings.NETCARE_REMINDER_LEASE_SECONDS)
    max_attempts = settings.NETCARE_REMINDER_MAX_ATTEMPTS
    result = SweepResult()
    waiting: list[int] = []  # claimed and committed, not enqueued yet

    def flush() -> None:
        if waiting:
            transaction.on_commit(lambda ids=list(waiting): enqueue(ids))
            waiting.clear()

    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            batches += 1
            with transaction.atomic():
                rows = list(
                    Reminder.objects.select_for_update(skip_locked=True)
                    .filter(state=ReminderState.PENDING, send_at__lte=now)
                    .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
                    .order_by("send_at", "pk").values_list("pk", "attempts")[:batch_size])
                claim = [pk for pk, attempts in rows if attempts < max_attempts]
                exhausted = [pk for pk, attempts in rows if attempts >= max_attempts]
                if claim:
                    Reminder.objects.filter(pk__in=claim).update(
                        claimed_until=lease_until, attempts=F("attempts") + 1)
                if exhausted:
                    reminders_set_state(
                        exhausted, source=(ReminderState.PENDING,), target=ReminderState.FAILED,
                        claimed_until=None,
                        last_error=f"Gave up: no send finished in {max_attempts} attempts.")
                    transaction.on_commit(lambda ids=exhausted: _show_failures(ids))
            result.claimed.extend(claim)
            result.given_up.extend(exhausted)
            waiting.extend(claim)
            if len(waiting) >= SEND_SPREAD * SEND_BATCH:
                flush()
            if len(rows) < batch_size:
                break
    finally:
        flush()  # what was committed, even when a later batch failed
    return result


def reminders_send(*, reminder_ids: Sequence[int], now: dt.datetime | None = None
                   ) -> dict[str, int]:
    """Send a batch of claimed reminders, each at most once; returns how many ended how
    ('sent', 'failed': will retry or gave up, 'cancelled': no longer relevant, 'skipped':
    already sent, not due, or being sent by another worker, 'error': raised something else,
    logged, claimed again after its lease).

    One transaction: one statement locks the batch's rows (``SKIP LOCKED``: a second delivery of
    the same task, or a concurrent one, leaves them to the first) and loads everything their
    messages need; each is checked and delivered over one mail connection; one compare-and-set
    marks the delivered ones sent; one commit. Each delivery is also noted in the delivery
    journal (:func:`_journal_note`) as soon as the gateway has it, so a worker killed before the
    commit re-sends nothing: when the reminder is claimed again after its lease, the journal
    says it went and it is only marked sent. A message carries a Message-ID (email) or
    idempotency key (SMS) derived from the reminder's key, so a gateway can also recognise a
    resend after a crash in the instant between handing it over and noting it.
    """
    now = now or timezone.now()
    order = {pk: index for index, pk in enumerate(reminder_ids)}
    outcomes: dict[str, int] = {}
    sent: list[Reminder] = []
    mail = get_connection()
    try:
        with transaction.atomic():
            batch = sorted(_due(now).select_for_update(skip_locked=True, of=("self",))
                           .filter(pk__in=list(order)), key=lambda r: order[r.pk])
            # Delivered by an attempt that died before its commit: only to be marked sent.
            gone = _journal_delivered(batch)
            for reminder in batch:
                outcome = "sent" if reminder.pk in gone else _send_locked(reminder, now, mail)
                if outcome == "sent":
                    sent.append(reminder)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if sent:
                _settle([reminder.pk for reminder in sent], ReminderState.SENT, sent_at=now,
                        claimed_until=None, last_error="")
    finally:
        _close(mail)
    _journal_forget(sent)
    skipped = len(order) - len(batch)
    if skipped:
        outcomes["skipped"] = outcomes.get("skipped", 0) + skipped
    return outcomes


def _due(now: dt.datetime):
    """Pending reminders whose time has come, with the task, people and course they read."""
    return (Reminder.objects.select_related(*_RELATED)
            .filter(state=ReminderState.PENDING, send_at__lte=now).order_by())


def reminder_send(*, reminder_id: int, now: dt.datetime | None = None) -> str:
    """Send one reminder at most once (a batch of one, :func:`reminders_send`): 'sent',
    'failed', 'cancelled' or 'skipped'."""
    outcomes = reminders_send(reminder_ids=[reminder_id], now=now)
    return next(iter(outcomes))


def _send_locked(reminder: Reminder, now: dt.datetime, mail) -> str:
    """Check and deliver one locked reminder of a batch: 'sent' (delivered and noted, to be
    marked sent with the batch), 'cancelled' or 'failed' (marked so now), or 'error'."""
    problem = _not_to_send(reminder)
    if problem:
        _settle([reminder.pk], ReminderState.CANCELLED, last_error=problem, claimed_until=None)
        return "cancelled"
    try:
        if reminder.kind == ReminderKind.DIGEST and not _deliver_digest(reminder, now, mail):
            _settle([reminder.pk], ReminderState.CANCELLED, last_error="Nothing to report.")
            return "cancelled"
        if reminder.kind != ReminderKind.DIGEST:
            _deliver(reminder, mail)
    except SEND_ERRORS as exc:
        _close(mail)  # the next send opens a fresh connection
        return _record_failure(reminder, exc, now)
    except Exception:  # one broken reminder does not hold back the rest of the batch
        logger.exception("Reminder %s: the send failed", reminder.pk)
        return "error"  # left pending and claimed: claimed again after its lease
    _journal_note(reminder)
    return "sent"


# --- the delivery journal ---------------------------------------------------------------------
# Reminders delivered whose batch has not committed yet, in the cache (Redis): written right
# after each delivery, read when a batch starts, cleared after its commit. Kept for a day, far
# longer than the lease after which an interrupted batch's reminders are claimed again.

JOURNAL_SECONDS = 24 * 3600


def _journal_key(reminder: Reminder) -> str:
    # The creation time too: a key is never taken for another reminder, even after a restore.
    return f"reminder-delivered:{reminder.pk}:{reminder.created_at.timestamp():.6f}"


def _journal_note(reminder: Reminder) -> None:
    try:
        cache.set(_journal_key(reminder), 1, JOURNAL_SECONDS)
    except Exception:  # the commit still records it; only a crash before it would resend
        logger.warning("Reminder %s: could not note the delivery", reminder.pk, exc_info=True)


def _journal_delivered(reminders: Sequence[Reminder]) -> set[int]:
    if not reminders:
        return set()
    found = cache.get_many([_journal_key(reminder) for reminder in reminders])
    return {reminder.pk for reminder in reminders if _journal_key(reminder) in found}


def _journal_forget(reminders: Sequence[Reminder]) -> None:
    if not reminders:
        return
    try:
        cache.delete_many([_journal_key(reminder) for reminder in reminders])
    except Exception:  # they expire by themselves
        logger.warning("Could not clear %s delivery notes", len(reminders), exc_info=True)


def _close(mail) -> None:
    if mail is None:
        return
    try:
        mail.close()
    except SEND_ERRORS:
        logger.warning("Closing the mail connection failed", exc_info=True)


def _settle(ids: Sequence[int], target: str, **fields) -> None:
    """Move the locked, pending reminders `ids` to `target` through the one compare-and-set."""
    moved = reminders_set_state(ids, source=(ReminderState.PENDING,), target=target, **fields)
    if moved != len(ids):  # the rows are locked by this transaction: nobody else moved them
        raise RuntimeError(f"Reminders {list(ids)} left the pending state under their lock.")


def _not_to_send(reminder: Reminder) -> str:
    if reminder.task_id is not None and reminder.task.state != TaskState.OPEN:
        return f"The task is {reminder.task.state}."
    user, patient = reminder.recipient_user, reminder.recipient_patient
    if user is not None and (not user.is_active or not user.email):
        return "The recipient has no active account with an email address."
    if patient is not None:
        if not patient.reminder_consent:
            return "The patient does not consent to reminders."
        if not (patient.email if reminder.channel == Channel.EMAIL else patient.phone):
            return "The patient has no address for this channel."
    return ""


def _record_failure(reminder: Reminder, exc: Exception, now: dt.datetime) -> str:
    reminder.last_error = f"{type(exc).__name__}: {exc}"[:255]
    logger.warning("Reminder %s: send attempt %s failed (%s)", reminder.pk, reminder.attempts,
                   type(exc).__name__)
    if reminder.attempts >= settings.NETCARE_REMINDER_MAX_ATTEMPTS:
        _settle([reminder.pk], ReminderState.FAILED, claimed_until=None,
                last_error=reminder.last_error)
        transaction.on_commit(lambda: _show_failures([reminder.pk]))
    else:
        backoff = min(settings.NETCARE_REMINDER_BACKOFF_SECONDS * 2 ** max(reminder.attempts - 1,
                                                                            0), 3600)
        reminder.claimed_until = now + dt.timedelta(seconds=backoff)
        reminder.save(update_fields=["claimed_until", "last_error"])
    return "failed"


def _show_failures(ids: Sequence[int]) -> None:
    """Tell the navigators of the centre concerned, in NETcare, about reminders given up on."""
    for reminder in Reminder.objects.filter(pk__in=list(ids)).select_related(
            "course", "recipient_user", "task"):
        centre_id = (reminder.course.centre_id if reminder.course_id
                     else reminder.recipient_user.centre_id)
        url = ""
        if reminder.course_id:
            url = f"/patients/{reminder.course.patient.external_id}/"
        notify(recipients=centre_navigators(centre_id),
               subject="A reminder could not be sent",
               body=(f"The {reminder.get_kind_display().lower()} reminder #{reminder.pk} "
                     f"({reminder.get_channel_display()}) could not be sent after "
                     f"{reminder.attempts} attempts: {reminder.last_error.split(':')[0]}. "
                     "Please contact the recipient another way."),
               url=url)


def _message_id(reminder: Reminder) -> str:
    digest = hashlib.sha256(reminder.key.encode()).hexdigest()[:20]
    return f"<reminder.{reminder.pk}.{digest}@netcare>"


def _email(reminder: Reminder, template: str, context: dict, to: str, mail=None) -> None:
    context = {**context, "base_url": settings.NETCARE_BASE_URL, "reminder": reminder}
    message = EmailMultiAlternatives(
        subject=render_to_string(f"emails/{template}_subject.txt", context).strip(),
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
        headers={"Message-ID": _message_id(reminder), "X-NETcare-Reminder": reminder.key},
        connection=mail,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    if mail is not None:
        mail.open()  # kept open for the batch (a no-op once open)
    message.send()


def _deliver(reminder: Reminder, mail=None) -> None:
    task = reminder.task
    if reminder.kind in (ReminderKind.TASK_DUE, ReminderKind.TASK_OVERDUE):
        template = ("reminder_task_due" if reminder.kind == ReminderKind.TASK_DUE
                    else "reminder_task_overdue")
        _email(reminder, template, {"task": task, "user": reminder.recipient_user,
                                    "patient_url": f"/patients/{task.patient.external_id}/"},
               reminder.recipient_user.email, mail)
        return
    patient = reminder.recipient_patient
    centre = reminder.course.centre
    template = ("reminder_precautions" if reminder.kind == ReminderKind.PRECAUTIONS
                else "reminder_appointment")
    context = {"task": task, "centre": centre, "payload": reminder.payload}
    if reminder.channel == Channel.EMAIL:
        _email(reminder, template, context, patient.email, mail)
    else:
        body = render_to_string(f"coordinators/sms_{template}.txt", context).strip()
        send_sms(to=patient.phone, body=body, idempotency_key=reminder.key)


def _deliver_digest(reminder: Reminder, now: dt.datetime, mail=None) -> bool:
    user = reminder.recipient_user
    day = dt.date.fromisoformat(reminder.payload.get("day") or now.date().isoformat())
    digest = navigator_digest(user, today=day)
    if digest.is_empty:
        return False
    _email(reminder, "reminder_digest", {"digest": digest, "user": user, "day": day}, user.email,
           mail)
    return True


