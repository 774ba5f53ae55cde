"""Reminders: the sweep that claims due ones and the send that delivers one exactly once.

The database is the queue. :func:`reminders_sweep` claims due rows with a lease and enqueues one
send each; :func:`reminder_send` checks and marks one row in one transaction. Nothing in the
future is ever given to Celery as an ETA or countdown. State changes go through
:func:`coordinators.reminders.reminders_set_state`.
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
from django.core.mail import EmailMultiAlternatives
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


@dataclass
class SweepResult:
    claimed: list[int] = dataclasses.field(default_factory=list)
    given_up: list[int] = dataclasses.field(default_factory=list)


def _enqueue_sends(ids: Sequence[int]) -> None:
    """One send task per claimed reminder, published over one broker connection."""
    # The Celery task module imports this one (its tasks call the sweep and the send).
    from coordinators import tasks

    with tasks.send_reminder.app.producer_or_acquire() as producer:
        for pk in ids:
            tasks.send_reminder.apply_async(kwargs={"reminder_id": pk}, producer=producer)


def reminders_sweep(*, now: dt.datetime | None = None, batch_size: int | None = None,
                    max_batches: int | None = None,
                    enqueue: Callable[[Sequence[int]], None] | None = None) -> SweepResult:
    """Claim the due reminders and enqueue one send each (beat runs this every minute).

    Each batch is one transaction: lock due, unclaimed (or lease-expired) pending rows with
    ``FOR UPDATE SKIP LOCKED`` so concurrent sweeps take disjoint rows, set their lease and count
    the attempt, commit, then enqueue. A claim whose send never finished (killed worker, message
    lost with the broker) is claimed again after the lease; one that has used every attempt is
    marked failed and shown to the navigators instead.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.NETCARE_REMINDER_SWEEP_BATCH
    enqueue = enqueue or _enqueue_sends
    lease_until = now + dt.timedelta(seconds=settings.NETCARE_REMINDER_LEASE_SECONDS)
    max_attempts = settings.NETCARE_REMINDER_MAX_ATTEMPTS
    result = SweepResult()
    batches = 0
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
                transaction.on_commit(lambda ids=claim: enqueue(ids))
            if exhausted:
                reminders_set_state(
                    exhausted, source=(ReminderState.PENDING,), target=ReminderState.FAILED,
                    claimed_until=None,
                    last_error=f"Gave up: no send finished in {max_attempts} attempts.")
                transaction.on_commit(lambda ids=exhausted: _show_failures(ids))
        result.claimed.extend(claim)
        result.given_up.extend(exhausted)
        if len(rows) < batch_size:
            break
    return result


def reminder_send(*, reminder_id: int, now: dt.datetime | None = None) -> str:
    """Send one reminder at most once: 'sent', 'failed' (will retry or gave up), 'cancelled'
    (no longer relevant) or 'skipped' (already sent, not due, or being sent by another worker).

    The row is locked (``SKIP LOCKED``: a second delivery of the same task leaves it to the
    first), checked and marked sent in the same transaction as the send, so a redelivery, a retry
    or two sweeps never send it twice, and a worker killed before the commit leaves it pending
    for the next claim. The message carries a Message-ID (email) or idempotency key (SMS) derived
    from the reminder's key, so a gateway can recognise a resend after a crash in the instant
    between handing the message over and committing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # A plain row lock (no joins, no ordering): related rows are read as needed.
        locked = list(Reminder.objects.select_for_update(skip_locked=True).filter(
            pk=reminder_id, state=ReminderState.PENDING, send_at__lte=now).order_by()[:1])
        if not locked:
            return "skipped"
        reminder = locked[0]
        problem = _not_to_send(reminder)
        if problem:
            _settle(reminder, ReminderState.CANCELLED, last_error=problem, claimed_until=None)
            return "cancelled"
        try:
            if reminder.kind == ReminderKind.DIGEST and not _deliver_digest(reminder, now):
                _settle(reminder, ReminderState.CANCELLED, last_error="Nothing to report.")
                return "cancelled"
            if reminder.kind != ReminderKind.DIGEST:
                _deliver(reminder)
        except SEND_ERRORS as exc:
            return _record_failure(reminder, exc, now)
        _settle(reminder, ReminderState.SENT, sent_at=now, claimed_until=None, last_error="")
    return "sent"


def _settle(reminder: Reminder, target: str, **fields) -> None:
    """Move the locked, pending `reminder` to `target` through the one compare-and-set."""
    moved = reminders_set_state([reminder.pk], source=(ReminderState.PENDING,), target=target,
                                **fields)
    if moved != 1:  # the row is locked by this transaction: nobody else can have moved it
        raise RuntimeError(f"Reminder {reminder.pk} left the pending state under its lock.")


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
        _settle(reminder, ReminderState.FAILED, claimed_until=None,
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


def _email(reminder: Reminder, template: str, context: dict, to: str) -> None:
    context = {**context, "base_url": settings.NETCARE_BASE_URL, "reminder": reminder}
    message = EmailMultiAlternatives(
        subject=render_to_string(f"emails/{template}_subject.txt", context).strip(),
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
        headers={"Message-ID": _message_id(reminder), "X-NETcare-Reminder": reminder.key},
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    message.send()


def _deliver(reminder: Reminder) -> None:
    task = reminder.task
    if reminder.kind in (ReminderKind.TASK_DUE, ReminderKind.TASK_OVERDUE):
        template = ("reminder_task_due" if reminder.kind == ReminderKind.TASK_DUE
                    else "reminder_task_overdue")
        _email(reminder, template, {"task": task, "user": reminder.recipient_user,
                                    "patient_url": f"/patients/{task.patient.external_id}/"},
               reminder.recipient_user.email)
        return
    patient = reminder.recipient_patient
    centre = reminder.course.centre
    template = ("reminder_precautions" if reminder.kind == ReminderKind.PRECAUTIONS
                else "reminder_appointment")
    context = {"task": task, "centre": centre, "payload": reminder.payload}
    if reminder.channel == Channel.EMAIL:
        _email(reminder, template, context, patient.email)
    else:
        body = render_to_string(f"coordinators/sms_{template}.txt", context).strip()
        send_sms(to=patient.phone, body=body, idempotency_key=reminder.key)


def _deliver_digest(reminder: Reminder, now: dt.datetime) -> bool:
    user = reminder.recipient_user
    day = dt.date.fromisoformat(reminder.payload.get("day") or now.date().isoformat())
    digest = navigator_digest(user, today=day)
    if digest.is_empty:
        return False
    _email(reminder, "reminder_digest", {"digest": digest, "user": user, "day": day}, user.email)
    return True


