"""SSA injections given outside an infusion day: maintenance octreotide LAR or lanreotide, or an
injection before the course, entered by the centre's team or the patient's referring or primary
oncologist.

A long-acting injection moves the patient's "last long-acting SSA injection" date forward (never
back), which the SSA washout before a cycle is counted from. Every row is audited and announced
with an ``SSAInjectionRecorded`` domain event on commit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from netcare import audit, events
from netcare.access import check_may_change_patient
from netcare.clock import local_date, past_moment_error
from patients.models import Patient
from prrt.models import SSAInjection


def _dose(value: Any) -> tuple[Decimal | None, str]:
    if value in (None, ""):
        return None, ""
    try:
        dose = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, f"'{value}' is not a number."
    if not dose.is_finite() or dose <= 0:
        return None, "The dose is a positive number of mg."
    return dose, ""


def ssa_injection_record(*, actor, patient: Patient, agent: str, given_at: dt.datetime,
                         dose_mg: Any = None, given_by: str = "",
                         place: str = "") -> SSAInjection:
    """Record an SSA injection of `patient`; a long-acting one moves
    ``patient.last_long_acting_ssa_on`` to its day at the centre when that is later."""
    check_may_change_patient(actor, patient)
    errors: dict[str, str] = {}
    if agent not in Patient.SSA.values or agent == Patient.SSA.NONE:
        errors["agent"] = "Choose the somatostatin analogue that was given."
    given_error = past_moment_error(given_at, what="of the injection")
    if given_error:
        errors["given_at"] = given_error
    dose, dose_error = _dose(dose_mg)
    if dose_error:
        errors["dose_mg"] = dose_error
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        injection = SSAInjection(patient=patient, agent=agent, given_at=given_at, dose_mg=dose,
                                 given_by=(given_by or "").strip(), place=(place or "").strip(),
                                 recorded_by=actor)
        injection.full_clean()
        injection.save()
        audit.record_create(actor=actor, obj=injection)
        if agent in SSAInjection.LONG_ACTING:
            _move_last_long_acting(actor=actor, patient=patient, injection=injection)
        events.publish(events.SSAInjectionRecorded(patient_id=patient.pk,
                                                   injection_id=injection.pk))
    return injection


def _move_last_long_acting(*, actor, patient: Patient, injection: SSAInjection) -> None:
    """Set the patient's last long-acting injection day to the injection's, if it is later (the
    patient row is locked, so two injections entered at once keep the later day)."""
    day = local_date(injection.given_at, patient.centre)
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.last_long_acting_ssa_on is not None and locked.last_long_acting_ssa_on >= day:
        patient.last_long_acting_ssa_on = locked.last_long_acting_ssa_on
        return
    before = audit.snapshot(locked, ["last_long_acting_ssa_on"])
    locked.last_long_acting_ssa_on = day
    locked.save(update_fields=["last_long_acting_ssa_on", "updated_at"])
    audit.record_update(actor=actor, obj=locked, before=before,
                        note=f"SSA injection {injection.external_id} recorded")
    patient.last_long_acting_ssa_on = day
