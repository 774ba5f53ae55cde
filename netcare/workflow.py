"""The one funnel every workflow transition in NETcare goes through.

A public verb (``referral_accept``, ``cycle_approve``) calls :func:`run_transition`, which, inside
one transaction: locks the row (``SELECT … FOR UPDATE``), checks that the transition exists from
the current state (else :class:`TransitionConflict`, HTTP 409), that the user may take it (else
:class:`TransitionForbidden`, 403), that a reason is given where one is required and that the
transition's own conditions hold (else :class:`TransitionInvalid`, 400); then applies it, saves,
writes the workflow's event row and an audit row, publishes the transition as a domain event
(:mod:`netcare.events`: its handlers run on commit) and registers side effects on commit.
An `actor` of None is NETcare itself (a computed transition): the audit row says so.

Two users racing on one object are serialised by the row lock: the second sees the state the first
left and gets a conflict, so nothing is applied twice and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models, transaction
from django_fsm import can_proceed, has_transition_perm

from netcare import audit, events

M = TypeVar("M", bound=models.Model)


class TransitionError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class TransitionConflict(TransitionError):
    """Not possible from the object's current state (someone else may just have moved it)."""

    status = 409


class TransitionForbidden(TransitionError):
    """The user's role may not take this transition."""

    status = 403


class TransitionInvalid(TransitionError):
    """Missing or bad input, or a clinical guard that does not hold."""

    status = 400


@dataclass(frozen=True)
class Step:
    """What a verb asks of the funnel."""

    name: str  # the FSM transition method
    label: str  # how people say it: "accept the referral"
    reason_required: bool = False


def check_transition(obj: models.Model, step: Step, actor) -> None:
    """Refuse a transition the object's state or the user's role does not allow (409, 403).

    Services call it first, before looking at the input, so a wrong state or role is reported
    as such; run_transition repeats it under the row lock."""
    method = getattr(obj, step.name)
    if not can_proceed(method, check_conditions=False):
        raise TransitionConflict(
            f"Cannot {step.label}: it is {obj.get_state_display().lower()} now."
        )
    if not has_transition_perm(method, actor):
        raise TransitionForbidden(f"Your role cannot {step.label}.")


def run_transition(
    *,
    queryset: models.QuerySet[M],
    pk: int,
    step: Step,
    actor,
    reason: str = "",
    record_event: Callable[[M, str, str], Any],
    before_apply: Callable[[M], None] | None = None,
    after_apply: Callable[[M], None] | None = None,
    on_commit: Callable[[M], None] | None = None,
    transition_kwargs: dict[str, Any] | None = None,
    event: Callable[[M, str, str], events.Transitioned] | None = None,
) -> M:
    """Apply one FSM transition to the row `pk` of `queryset`, as described in the module."""
    reason = (reason or "").strip()
    with transaction.atomic():
        obj = queryset.select_for_update().get(pk=pk)
        method = getattr(obj, step.name)
        source = obj.state
        check_transition(obj, step, actor)
        if step.reason_required and not reason:
            raise TransitionInvalid(f"A reason is required to {step.label}.", field="reason")
        if not can_proceed(method):
            raise TransitionInvalid(f"Cannot {step.label}: its conditions are not met.")
        if before_apply is not None:
            before_apply(obj)
        method(**(transition_kwargs or {}))
        if after_apply is not None:
            after_apply(obj)
        obj.save()
        record_event(obj, source, obj.state)
        audit.record_transition(actor=actor, obj=obj, source=source, target=obj.state,
                                note=reason)
        events.publish(event(obj, source, obj.state) if event is not None else
                       events.Transitioned(model=obj._meta.label, object_id=obj.pk,  # noqa: SLF001
                                           transition=step.name, source=source,
                                           target=obj.state, actor_id=getattr(actor, "pk", None)))
        if on_commit is not None:
            transaction.on_commit(lambda: on_commit(obj))
    return obj
