"""Celery tasks of the coordination side: thin, idempotent, ids as keyword arguments."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from coordinators import services


@shared_task(name="coordinators.email_notification", autoretry_for=(SMTPException, OSError),
             retry_backoff=30, retry_backoff_max=1800, max_retries=6)
def email_notification(*, notification_id: int) -> bool:
    return services.notification_email_send(notification_id=notification_id)
