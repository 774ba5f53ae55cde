"""Periodic work is declared in CELERY_BEAT_SCHEDULE only, and the hourly refresh re-syncs."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab

from coordinators import delivery, tasks
from coordinators.models import CareTask
from coordinators.plan import plan_sync, plans_refresh

pytestmark = pytest.mark.django_db


def test_beat_declares_the_minute_sweep_the_digest_and_the_refresh(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["coordinators-sweep-reminders"]["task"] == tasks.sweep_reminders.name
    assert schedule["coordinators-sweep-reminders"]["schedule"] == crontab(minute="*")
    assert schedule["coordinators-schedule-digests"]["task"] == tasks.schedule_digests.name
    assert schedule["coordinators-refresh-plans"]["task"] == tasks.refresh_plans.name


def test_hourly_refresh_materialises_running_courses(course, time_machine):
    assert not CareTask.objects.filter(course=course).exists()
    assert plans_refresh(today=dt.date(2024, 12, 17)) == 1
    # 4 cycles x 6 kinds, 6 scans, post-course labs, SSTR PET, 13 LAR maintenance injections.
    assert CareTask.objects.filter(course=course).count() == 45


def test_the_sweep_task_enqueues_what_it_claimed_once_committed(
        course, monkeypatch, django_capture_on_commit_callbacks):
    # A long-acting injection too close to cycle 1: the washout check is overdue, its reminder due.
    course.patient.last_long_acting_ssa_on = dt.date(2024, 12, 17)
    course.patient.save()
    plan_sync(course=course)
    enqueued: list[int] = []
    monkeypatch.setattr(delivery, "enqueue_sends", enqueued.extend)
    with django_capture_on_commit_callbacks(execute=True):
        count = tasks.sweep_reminders()
    assert count > 0 and len(enqueued) == count
