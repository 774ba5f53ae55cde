"""Domain events: how one part of NETcare hears that something happened in another.

A service that changes the record publishes an event (a frozen dataclass of ids, never a model
instance) inside its transaction. The handlers registered for that event type run once the
transaction commits, each in its own savepoint, in the order they were registered. An event
published in a transaction that rolls back runs no handler.

Handlers are listed in each app's ``AppConfig.ready()`` (one visible list per app) with
:func:`subscribe`. A lower app never imports a higher one: the higher app subscribes to the lower
app's events instead (the record publishes ``LabResultRecorded``; the PRRT app recomputes
readiness; the coordination app re-syncs the plan).

A handler that raises is logged with its event and kept as a :class:`netcare.models.HandlerFailure`
row; :func:`retry_failed` (run by the hourly plan sweep) runs it again until it succeeds or has
used its attempts, so nothing is lost silently and the user's request never breaks. Handlers must
therefore be idempotent: they recompute from the record, they do not count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from netcare.models import HandlerFailure

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class Event:
    """Base of every domain event; subclasses hold ids and plain values only."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- the record (patients) ---------------------------------------------------------------------


@dataclass(frozen=True)
class LabResultRecorded(Event):
    patient_id: int
    lab_result_ids: tuple[int, ...]


@dataclass(frozen=True)
class LabResultCorrected(Event):
    patient_id: int
    lab_result_id: int


@dataclass(frozen=True)
class ImagingRecorded(Event):
    patient_id: int
    imaging_id: int


@dataclass(frozen=True)
class AdverseEventReported(Event):
    patient_id: int
    adverse_event_id: int
    ctcae_grade: int


@dataclass(frozen=True)
class PatientRecordChanged(Event):
    """Any other change of the record that the plan may depend on (performance status, SSA)."""

    patient_id: int
    what: str


@dataclass(frozen=True)
class SSAInjectionRecorded(Event):
    patient_id: int
    injection_id: int


@dataclass(frozen=True)
class ContactLogged(Event):
    """A call, message or visit in the navigator's contact log (optionally for one task)."""

    patient_id: int
    entry_id: int
    task_id: int | None


# --- workflows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transitioned(Event):
    """What every workflow transition publishes through ``netcare.workflow.run_transition``."""

    model: str  # "prrt.Cycle"
    object_id: int
    transition: str
    source: str
    target: str
    actor_id: int | None


@dataclass(frozen=True)
class ReferralChanged(Transitioned):
    patient_id: int = 0


@dataclass(frozen=True)
class CourseChanged(Transitioned):
    course_id: int = 0
    patient_id: int = 0


@dataclass(frozen=True)
class CycleChanged(Transitioned):
    course_id: int = 0
    cycle_number: int = 0


@dataclass(frozen=True)
class DoseOrderChanged(Transitioned):
    """A dose order was created, moved or went through its workflow: the plan's order task and
    the infusion calendar follow it."""

    course_id: int = 0
    cycle_id: int = 0


@dataclass(frozen=True)
class TaskChanged(Transitioned):
    course_id: int = 0


@dataclass(frozen=True)
class CycleDecided(Event):
    course_id: int
    cycle_id: int
    decision_id: int
    decision: str


@dataclass(frozen=True)
class CycleAdministered(Event):
    course_id: int
    cycle_id: int
    administration_id: int


@dataclass(frozen=True)
class AdministrationAmended(Event):
    """An administration record was corrected (times, activity, LAR, ...): the plan, which is
    anchored on the doses given, moves with it."""

    course_id: int
    cycle_id: int
    administration_id: int
    amendment_id: int


@dataclass(frozen=True)
class CycleBooked(Event):
    """An infusion was booked or rebooked: the plan moves with it."""

    course_id: int
    cycle_id: int


@dataclass(frozen=True)
class InstructionsGiven(Event):
    """The radiation-safety instructions were given in writing (printed, emailed, ticked)."""

    course_id: int
    cycle_id: int
    how: str


@dataclass(frozen=True)
class LetterSent(Event):
    """The course letter referring the patient back was sent."""

    course_id: int
    letter_id: int


# --- centres -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CentreSettingsChanged(Event):
    """A setting of the centre's that its plans read changed (`what`: e.g. "precaution_days",
    when its precaution sheet changed the precaution window): its courses' plans re-sync."""

    centre_id: int
    what: str = ""


# --- the bus -----------------------------------------------------------------------------------

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]

_handlers: dict[type[Event], list[Handler]] = defaultdict(list)


def _event_types() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    pending = [Event]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Run `handler(event)` on commit of every transaction that publishes an `event_type` (or a
    subclass of it). Registering the same handler twice has no effect."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def subscribe_all(pairs: Iterable[tuple[type[Event], Handler]]) -> None:
    for event_type, handler in pairs:
        subscribe(event_type, handler)


def handlers_for(event: Event) -> list[Handler]:
    found: list[Handler] = []
    for cls in type(event).__mro__:
        for handler in _handlers.get(cls, ()):  # type: ignore[arg-type]
            if handler not in found:
                found.append(handler)
    return found


def handler_name(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def publish(event: Event) -> None:
    """Schedule the event's handlers to run when the current transaction commits."""
    for handler in handlers_for(event):
        transaction.on_commit(lambda h=handler: run_handler(h, event))


def run_handler(handler: Handler, event: Event) -> bool:
    """Run one handler in its own savepoint; a failure is logged and kept for a retry."""
    try:
        with transaction.atomic():
            handler(event)
    except Exception as exc:  # a handler's failure must never break the request
        logger.exception("Event handler %s failed on %s %s", handler_name(handler), event.name,
                         event.as_dict())
        _keep_failure(handler, event, exc)
        return False
    return True


def _keep_failure(handler: Handler, event: Event, exc: Exception) -> None:
    HandlerFailure.objects.create(
        handler=handler_name(handler), event_type=event.name, payload=event.as_dict(),
        error=f"{type(exc).__name__}: {exc}"[:500], next_attempt_at=timezone.now())


def _resolve(name: str) -> Handler | None:
    for handlers in _handlers.values():
        for handler in handlers:
            if handler_name(handler) == name:
                return handler
    return None


def _rebuild(event_type: str, payload: dict[str, Any]) -> Event | None:
    cls = _event_types().get(event_type)
    if cls is None:
        return None
    values = {f.name: payload.get(f.name) for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(cls):
        if isinstance(values[f.name], list):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


def retry_failed(*, now: dt.datetime | None = None) -> int:
    """Run the kept failures that are due again; returns how many succeeded this time."""
    now = now or timezone.now()
    succeeded = 0
    for failure in HandlerFailure.objects.filter(resolved_at__isnull=True,
                                                 attempts__lt=MAX_ATTEMPTS,
                                                 next_attempt_at__lte=now).order_by("pk"):
        handler = _resolve(failure.handler)
        event = _rebuild(failure.event_type, failure.payload)
        if handler is None or event is None:
            HandlerFailure.objects.filter(pk=failure.pk).update(
                attempts=MAX_ATTEMPTS, error="The handler or event type no longer exists.")
            continue
        try:
            with transaction.atomic():
                handler(event)
        except Exception as exc:  # kept for the next retry
            logger.exception("Retry of event handler %s failed on %s", failure.handler,
                             failure.event_type)
            attempts = failure.attempts + 1
            HandlerFailure.objects.filter(pk=failure.pk).update(
                attempts=attempts, error=f"{type(exc).__name__}: {exc}"[:500],
                next_attempt_at=now + dt.timedelta(minutes=5 * 2 ** attempts))
            continue
        HandlerFailure.objects.filter(pk=failure.pk).update(resolved_at=now,
                                                            attempts=failure.attempts + 1)
        succeeded += 1
    return succeeded
