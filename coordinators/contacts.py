"""The navigator's contact log: calls, messages and visits with the patient, a carer or the
referring oncologist, each optionally for one care task (a radiation-safety check-in, a lab
reminder).

An entry is written by the centre's team or the patient's oncologists, audited, and announced
with a ``ContactLogged`` domain event on commit, so the plan can close the task it answers.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from coordinators.models import CareTask, ContactLogEntry
from netcare import audit, events
from netcare.access import check_may_change_patient
from netcare.clock import past_moment_error


def contact_log_add(*, actor, patient, kind: str, party: str, occurred_at: dt.datetime,
                    summary: str, task: CareTask | None = None) -> ContactLogEntry:
    """Record a call, message or visit about `patient` (optionally for one of their care tasks);
    a ``ContactLogged`` event follows on commit."""
    check_may_change_patient(actor, patient)
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
