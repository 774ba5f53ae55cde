"""The domain-event bus: handlers run on commit, never on rollback; failures kept, retried."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.utils import timezone

from netcare import events
from netcare.models import HandlerFailure


@dataclass(frozen=True)
class Pinged(events.Event):
    patient_id: int
    ids: tuple[int, ...] = ()


calls: list[events.Event] = []
flaky_failures_left = {"n": 0}


def record_call(event: Pinged) -> None:
    calls.append(event)


def flaky(event: Pinged) -> None:
    if flaky_failures_left["n"] > 0:
        flaky_failures_left["n"] -= 1
        raise RuntimeError("the lab system is down")
    calls.append(event)


@pytest.fixture(autouse=True)
def bus():
    calls.clear()
    flaky_failures_left["n"] = 0
    saved = {key: list(value) for key, value in events._handlers.items()}
    yield
    events._handlers.clear()
    events._handlers.update(saved)


pytestmark = pytest.mark.django_db(transaction=True)


def test_handlers_run_once_the_transaction_commits():
    events.subscribe(Pinged, record_call)
    with transaction.atomic():
        events.publish(Pinged(patient_id=1))
        assert calls == []  # not before the commit
    assert calls == [Pinged(patient_id=1)]


def test_an_event_published_in_a_rolled_back_transaction_runs_no_handler():
    events.subscribe(Pinged, record_call)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        events.publish(Pinged(patient_id=1))
        1 / 0  # noqa: B018
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), transaction.atomic():  # a savepoint rolled back
            events.publish(Pinged(patient_id=2))
            1 / 0  # noqa: B018
        events.publish(Pinged(patient_id=3))
    assert calls == [Pinged(patient_id=3)]


def test_subclass_events_reach_handlers_of_the_base_and_subscribing_twice_is_once():
    events.subscribe(events.Transitioned, record_call)
    events.subscribe(events.Transitioned, record_call)
    event = events.CycleChanged(model="prrt.Cycle", object_id=1, transition="approve",
                                source="ready", target="approved", actor_id=None, course_id=3,
                                cycle_number=1)
    with transaction.atomic():
        events.publish(event)
    assert calls == [event]


def test_a_failing_handler_is_logged_kept_and_never_breaks_the_request(caplog):
    events.subscribe(Pinged, flaky)
    events.subscribe(Pinged, record_call)
    flaky_failures_left["n"] = 1
    with caplog.at_level(logging.ERROR, logger="netcare.events"), transaction.atomic():
        events.publish(Pinged(patient_id=7, ids=(1, 2)))
    # The other handler still ran; the failure is logged with the event and kept.
    assert calls == [Pinged(patient_id=7, ids=(1, 2))]
    assert "test_events.flaky failed on Pinged" in caplog.text
    failure = HandlerFailure.objects.get()
    assert failure.event_type == "Pinged"
    assert failure.payload == {"patient_id": 7, "ids": [1, 2]}
    assert "RuntimeError: the lab system is down" in failure.error
    assert failure.resolved_at is None


def test_the_sweep_retries_a_kept_failure_until_it_succeeds():
    events.subscribe(Pinged, flaky)
    flaky_failures_left["n"] = 2
    with transaction.atomic():
        events.publish(Pinged(patient_id=7, ids=(4,)))
    failure = HandlerFailure.objects.get()
    assert calls == []
    # The second attempt fails too and is put off.
    assert events.retry_failed() == 0
    failure.refresh_from_db()
    assert failure.attempts == 2 and failure.next_attempt_at > timezone.now()
    assert events.retry_failed() == 0  # not due yet: nothing runs
    assert flaky_failures_left["n"] == 0  # both failures used, nothing ran since
    assert events.retry_failed(now=timezone.now() + dt.timedelta(hours=2)) == 1
    failure.refresh_from_db()
    assert failure.resolved_at is not None
    assert calls == [Pinged(patient_id=7, ids=(4,))]  # rebuilt with its tuple
    assert events.retry_failed(now=timezone.now() + dt.timedelta(days=1)) == 0


def test_a_failure_whose_handler_is_gone_stops_being_retried():
    HandlerFailure.objects.create(handler="nowhere.handler", event_type="Pinged",
                                  payload={"patient_id": 1, "ids": []}, error="x",
                                  next_attempt_at=timezone.now())
    assert events.retry_failed() == 0
    assert HandlerFailure.objects.get().attempts == events.MAX_ATTEMPTS
