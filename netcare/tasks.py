"""Core Celery tasks."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

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
