"""Celery tasks of the coordination side: thin, idempotent, ids as keyword arguments.

Nothing here is ever scheduled with an ETA or countdown: what must happen later lives in the
database (Reminder.send_at, CareTask dates) and the minute sweep picks it up.
"""

from __future__ import annotations

from celery import shared_task

from coordinators import delivery, plan, reminders


@shared_task(name="coordinators.sweep_reminders", ignore_result=True)
def sweep_reminders() -> int:
    """Beat, every minute: claim due reminders and enqueue their sends in batches."""
    return len(delivery.reminders_sweep().claimed)


@shared_task(name="coordinators.send_reminders", ignore_result=True)
def send_reminders(*, reminder_ids: list[int]) -> dict[str, int]:
    """Send a batch of claimed reminders; each one already sent (redelivery, duplicate) is a
    no-op."""
    return delivery.reminders_send(reminder_ids=reminder_ids)


@shared_task(name="coordinators.send_reminder", ignore_result=True)
def send_reminder(*, reminder_id: int) -> str:
    """Send one claimed reminder (the sends queued one by one before batches); a no-op when it
    was already sent."""
    return delivery.reminder_send(reminder_id=reminder_id)


@shared_task(name="coordinators.schedule_digests", ignore_result=True)
def schedule_digests() -> int:
    """Beat, every 15 minutes: create each navigator's morning digest once per day."""
    return reminders.digests_schedule()


@shared_task(name="coordinators.refresh_plans", ignore_result=True)
def refresh_plans() -> int:
    """Beat, hourly: refresh running courses and re-sync their care plans."""
    return plan.plans_refresh()  # each course on its centre's date
