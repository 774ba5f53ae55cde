"""Core Celery tasks."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from netcare import events, notifications

HEARTBEAT_CACHE_KEY = "netcare:beat:last"


@shared_task(name="netcare.heartbeat")
def heartbeat() -> str:
    """Runs every minute from beat; /healthz reports when it last ran."""
    stamp = timezone.now().isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, stamp, timeout=None)
    return stamp


@shared_task(name="netcare.echo")
def echo(*, value: str) -> str:
    """Returns its argument: lets operators and tests check the broker and a worker end to end."""
    return value


@shared_task(name="netcare.email_notification", autoretry_for=(SMTPException, OSError),
             retry_backoff=30, retry_backoff_max=1800, max_retries=6)
def email_notification(*, notification_id: int) -> bool:
    return notifications.notification_email_send(notification_id=notification_id)


@shared_task(name="netcare.retry_event_handlers", ignore_result=True)
def retry_event_handlers() -> int:
    """Beat, every 5 minutes: run event handlers that failed again (see netcare.events)."""
    return events.retry_failed()
