"""Editing a draft referral: every part of it (patient, tumour, imaging, labs, performance status,
the question) can be changed by its referring oncologist until it is submitted. After that,
changes go through the centre's questions (the information request) and the patient page.

Nothing already recorded is lost: the patient, tumour profile, imaging study and performance
status are corrected in place with the values before and after in the audit trail; a lab result
that changes is marked in error (kept, struck through) and the new value added.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from netcare import audit
from netcare.models import Role, User
from netcare.workflow import TransitionConflict, TransitionForbidden
from patients import services as patient_services
from patients.forms import LAB_PANEL
from patients.models import ImagingStudy, LabResult, Patient, PerformanceStatus
from referrals.models import Referral, ReferralState
from referrals.services import _prefixed, referral_transition

DRAFT_FIELDS = ["urgency", "question", "history"]
DRAFT_ANALYTES = [*LAB_PANEL, "prothrombin_ratio_percent"]
CORRECTED = "Corrected in the draft referral."
REMOVED = "Removed from the draft referral."


def draft_imaging(patient: Patient) -> ImagingStudy | None:
    """The imaging study the draft's form shows and changes: the latest one."""
    return patient.imaging.order_by("-performed_on", "-id").first()


def draft_labs(patient: Patient) -> dict[str, LabResult]:
    """The labs the draft's form shows and changes: the latest valid result per analyte."""
    latest: dict[str, LabResult] = {}
    for lab in (patient.labs.filter(entered_in_error=False, analyte__in=DRAFT_ANALYTES)
                .order_by("analyte", "-collected_at", "-id")):
        latest.setdefault(lab.analyte, lab)
    return latest


def draft_performance(patient: Patient) -> PerformanceStatus | None:
    return patient.performance_status.order_by("-assessed_on", "-id").first()


def check_draft_editable(*, actor, referral: Referral) -> None:
    """Only the referring oncologist who wrote it, only while it is a draft."""
    if actor.role != Role.REFERRING_ONCOLOGIST or referral.referring_oncologist_id != actor.pk:
        raise TransitionForbidden("Only the referring oncologist who wrote the draft can "
                                  "change it.")
    if referral.state != ReferralState.DRAFT:
        raise TransitionConflict("The referral has been submitted: changes now go through the "
                                 "centre's questions (answer an information request) and the "
                                 "patient record.")


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value).strip())


def _same_lab(lab: LabResult, entry: dict[str, Any]) -> bool:
    return (lab.value == _decimal(entry["value"]) and lab.unit == (entry.get("unit") or "")
            and lab.uln == _decimal(entry.get("uln")) and lab.lln == _decimal(entry.get("lln"))
            and lab.collected_at == entry["collected_at"])


def _labs_update(actor: User, patient: Patient, labs: list[dict[str, Any]]) -> None:
    """A changed or removed value: the old result is marked in error; a new one is added."""
    current = draft_labs(patient)
    given = {entry["analyte"]: entry for entry in labs}
    position = {entry["analyte"]: index for index, entry in enumerate(labs)}
    for analyte in DRAFT_ANALYTES:
        old, new = current.get(analyte), given.get(analyte)
        if old is not None and new is not None and _same_lab(old, new):
            continue
        if old is not None:
            patient_services.lab_result_mark_in_error(actor=actor, result=old,
                                                      reason=CORRECTED if new else REMOVED)
        if new is not None:
            _prefixed(lambda new=new: patient_services.lab_result_add(
                actor=actor, patient=patient, **new), f"labs[{position[analyte]}]")


def referral_draft_update(
    *, actor: User, referral: Referral, patient: dict[str, Any], tumour: dict[str, Any],
    imaging: dict[str, Any], labs: list[dict[str, Any]], question: str, history: str = "",
    urgency: str = Referral.Urgency.ROUTINE, performance: dict[str, Any] | None = None,
    submit: bool = False,
) -> Referral:
    """Save the changed draft, all of it or nothing (errors name the field: ``labs[1].unit``),
    and submit it when asked. Every correction is audited with the values before and after."""
    with transaction.atomic():
        locked = (Referral.objects.select_for_update().select_related("patient__centre")
                  .get(pk=referral.pk))
        check_draft_editable(actor=actor, referral=locked)
        record = locked.patient
        _prefixed(lambda: patient_services.patient_update(actor=actor, patient=record,
                                                          data=patient), "patient")
        _prefixed(lambda: patient_services.tumour_profile_save(actor=actor, patient=record,
                                                               data=tumour), "tumour")
        study = draft_imaging(record)
        if study is None:
            _prefixed(lambda: patient_services.imaging_add(actor=actor, patient=record,
                                                           **imaging), "imaging")
        else:
            _prefixed(lambda: patient_services.imaging_correct(actor=actor, study=study,
                                                               reason=CORRECTED, **imaging),
                      "imaging")
        _labs_update(actor, record, labs)
        assessment = draft_performance(record)
        if performance and assessment is None:
            _prefixed(lambda: patient_services.performance_status_add(
                actor=actor, patient=record, **performance), "performance")
        elif performance:
            _prefixed(lambda: patient_services.performance_status_correct(
                actor=actor, assessment=assessment, reason=CORRECTED, **performance),
                "performance")
        elif assessment is not None:
            raise ValidationError({"performance.scale": "A recorded performance status cannot "
                                                        "be removed: correct it instead."})
        before = audit.snapshot(locked, DRAFT_FIELDS)
        locked.urgency, locked.question, locked.history = urgency, question, history
        locked.clean_fields(exclude=[f.name for f in Referral._meta.fields  # noqa: SLF001
                                     if f.name not in DRAFT_FIELDS])
        locked.save(update_fields=[*DRAFT_FIELDS, "updated_at"])
        if audit.snapshot(locked, DRAFT_FIELDS) != before:
            audit.record_update(actor=actor, obj=locked, before=before,
                                note="Draft referral changed.")
    if submit:
        locked = referral_transition(referral=locked, name="submit", actor=actor)
    return locked
