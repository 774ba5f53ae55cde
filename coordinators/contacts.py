"""The navigator's contact log: calls, messages and visits with the patient, a carer or the
referring oncologist, each optionally for one care task (a radiation-safety check-in, a lab
reminder).

An entry is written by the centre's team or the patient's oncologists, audited, and announced
with a ``ContactLogged`` domain event on commit, so the plan can close the task it answers.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from coordinators.models import CareTask, ContactLogEntry
from netcare import audit, events
from netcare.access import can_change_patient, can_view_patient

# Devices' clocks differ by a little: a time this far ahead still counts as "now".
CLOCK_SKEW = dt.timedelta(minutes=5)


def check_may_record(actor, patient) -> None:
    """Refuse an actor who may not add to `patient`'s record: a 404 for a patient they may not
    see (their existence is not confirmed), a 403 for one they may see but not change."""
    if actor is None or not can_view_patient(actor, patient):
        raise Http404("Not found.")
    if not can_change_patient(actor, patient):
        raise PermissionDenied("You cannot change this patient's record.")


def past_moment_error(moment, *, what: str) -> str:
    """What is wrong with `moment` as the time something happened ("" when nothing is): it must
    be an aware datetime, not in the future."""
    if not isinstance(moment, dt.datetime):
        return f"Give the date and time {what}."
    if timezone.is_naive(moment):
        return "Give the time with its time zone."
    if moment > timezone.now() + CLOCK_SKEW:
        return f"The time {what} is in the future."
    return ""


def contact_log_add(*, actor, patient, kind: str, party: str, occurred_at: dt.datetime,
                    summary: str, task: CareTask | None = None) -> ContactLogEntry:
    """Record a call, message or visit about `patient` (optionally for one of their care tasks);
    a ``ContactLogged`` event follows on commit."""
    check_may_record(actor, patient)
    errors: dict[str, str] = {}
    if kind not in ContactLogEntry.Kind.values:
        errors["kind"] = "Choose a phone call, a message or a visit."
    if party not in ContactLogEntry.Party.values:
        errors["party"] = "Choose who the contact was with."
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = "Say what was discussed."
    if task is not None and task.patient_id != patient.pk:
        errors["task"] = "That task belongs to another patient."
    moment_error = past_moment_error(occurred_at, what="of the contact")
    if moment_error:
        errors["occurred_at"] = moment_error
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        entry = ContactLogEntry(patient=patient, task=task, kind=kind, party=party,
                                occurred_at=occurred_at, summary=summary, recorded_by=actor)
        entry.full_clean()
        entry.save()
        audit.record_create(actor=actor, obj=entry)
        events.publish(events.ContactLogged(patient_id=patient.pk, entry_id=entry.pk,
                                            task_id=task.pk if task is not None else None))
    return entry
