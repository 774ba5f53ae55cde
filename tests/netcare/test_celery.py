"""A task makes the round trip through the real Redis broker and a real worker process."""

import uuid

import pytest

from netcare import tasks
from netcare.celery import app

pytestmark = pytest.mark.integration


def test_broker_is_redis():
    assert app.conf.broker_url.startswith("redis://")


def test_task_round_trip_through_redis_and_a_worker(celery_worker_process):
    value = uuid.uuid4().hex
    result = tasks.echo.delay(value=value)
    assert result.get(timeout=30) == value


def test_heartbeat_runs_on_the_worker_and_is_visible_to_the_web(celery_worker_process):
    from django.core.cache import cache

    cache.delete(tasks.HEARTBEAT_CACHE_KEY)
    stamp = tasks.heartbeat.delay().get(timeout=30)
    assert cache.get(tasks.HEARTBEAT_CACHE_KEY) == stamp


def test_beat_schedule_is_declared_in_one_place(settings):
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
    assert "netcare-heartbeat" in app.conf.beat_schedule
