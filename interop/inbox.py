"""The unmatched-results inbox: results that could not be stored by themselves wait here until
a navigator of the receiving centre matches them to a patient (the result then runs the path of
a typed lab: validated by the rules' units, its events fire readiness and task fulfilment) or
rejects them with a reason. Nothing is lost (the entry and its raw message stay) and nothing is
guessed (the navigator names the patient by MRN and confirms every value)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from interop.models import ReceivedResult, UnmatchedResult
from netcare import access, audit
from netcare.models import Role
from patients.models import LabResult, Patient
from patients.services import lab_result_add


def can_work_inbox(user) -> bool:
    """The receiving centre's navigators work its inbox."""
    return bool(user is not None and user.is_authenticated and user.is_active
                and user.role == Role.NAVIGATOR and user.centre is not None
                and user.centre.is_specialist_centre)


def inbox_entries(user) -> QuerySet[UnmatchedResult]:
    """Every entry of `user`'s centre (none for anyone who may not work the inbox)."""
    if not can_work_inbox(user):
        return UnmatchedResult.objects.none()
    return (UnmatchedResult.objects.filter(centre_id=user.centre_id)
            .select_related("received__message", "patient", "resolved_by"))


def inbox_entry_for(user, external_id) -> UnmatchedResult:
    """One entry of `user`'s centre, or Http404 (also for a malformed id)."""
    try:
        return inbox_entries(user).get(external_id=external_id)
    except (UnmatchedResult.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc


def _lock_waiting(actor, entry: UnmatchedResult) -> UnmatchedResult:
    if not can_work_inbox(actor) or entry.centre_id != actor.centre_id:
        raise PermissionDenied("Only the receiving centre's navigators work its inbox.")
    locked = (UnmatchedResult.objects.select_for_update().select_related("received")
              .get(pk=entry.pk))
    if locked.state != UnmatchedResult.State.WAITING:
        raise ValidationError({"__all__": f"This result was {locked.get_state_display().lower()} "
                                          "already."})
    return locked


def inbox_match(*, actor, entry: UnmatchedResult, mrn: str, analyte: str, value: Any,
                unit: str, collected_at: dt.datetime, uln: Any = None, lln: Any = None,
                note: str = "") -> LabResult:
    """Match a waiting result to the centre's patient with this MRN (exactly), as the navigator
    confirms its values: stored through the typed labs' service (events, readiness, tasks)."""
    mrn = (mrn or "").strip()
    with transaction.atomic():
        locked = _lock_waiting(actor, entry)
        patient = access.scope_to_patients(
            actor, Patient.objects.filter(centre_id=locked.centre_id, mrn=mrn),
            patient_path="").first()
        if patient is None:
            raise ValidationError({"mrn": f"No patient with MRN '{mrn}' at your centre."})
        access.check_may_change_patient(actor, patient)
        lab = lab_result_add(actor=actor, patient=patient, analyte=analyte, value=value,
                             unit=unit, collected_at=collected_at, uln=uln, lln=lln)
        before = audit.snapshot(locked, ["state", "patient_id", "lab_result_id", "reason"])
        locked.state = UnmatchedResult.State.MATCHED
        locked.patient = patient
        locked.lab_result = lab
        locked.resolved_by = actor
        locked.resolved_at = timezone.now()
        locked.reason = (note or "").strip()
        locked.save(update_fields=["state", "patient", "lab_result", "resolved_by",
                                   "resolved_at", "reason"])
        ReceivedResult.objects.filter(pk=locked.received_id).update(
            status=ReceivedResult.Status.STORED, lab_result=lab)
        audit.record_update(actor=actor, obj=locked, before=before,
                            note=f"Matched to {patient.mrn}")
    return lab


def inbox_reject(*, actor, entry: UnmatchedResult, reason: str) -> UnmatchedResult:
    """Reject a waiting result, with why (required). It stays, with its raw message."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the result is rejected."})
    with transaction.atomic():
        locked = _lock_waiting(actor, entry)
        before = audit.snapshot(locked, ["state", "reason"])
        locked.state = UnmatchedResult.State.REJECTED
        locked.resolved_by = actor
        locked.resolved_at = timezone.now()
        locked.reason = reason
        locked.save(update_fields=["state", "resolved_by", "resolved_at", "reason"])
        audit.record_update(actor=actor, obj=locked, before=before, note=reason)
    return locked
