"""Patient record use cases. Lab values are validated by the clinical rules' units, and the tumour
grade is derived by the rules from the pathology, never typed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import rules
from netcare import audit, events
from netcare.clock import centre_today
from netcare.models import Centre
from netcare.notifications import centre_team, notify
from patients.models import (
    AdverseEvent,
    ImagingStudy,
    LabResult,
    Patient,
    PerformanceStatus,
    TumourProfile,
)


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"'{value}' is not a number."}) from None
    if not number.is_finite():
        raise ValidationError({field: "Enter a finite number."})
    return number


def lab_validate(*, analyte: str, value: Any, unit: str, uln: Any = None,
                 lln: Any = None) -> Decimal:
    """Check one lab value with the rules' units and plausible ranges (§4.6, defined once in
    the rules): every path that stores a lab (the forms, the API, the referral intake, imports)
    comes through here. A ValidationError names the bad field and the accepted range."""
    if analyte not in LabResult.Analyte.values:
        raise ValidationError({"analyte": f"Unknown analyte '{analyte}'."})
    number = _decimal(value, "value")
    if analyte in LabResult.PLAIN_NUMBER_ANALYTES:
        expected = LabResult.PLAIN_NUMBER_ANALYTES[analyte]
        if (unit or "") != expected:
            raise ValidationError({"unit": f"{analyte} takes the unit '{expected}'."})
        try:
            rules.plausible(analyte, number, "value")
        except rules.RulesInputError as exc:
            raise ValidationError({"value": exc.message}) from None
        return number
    limits = {name: (None if raw in (None, "") else _decimal(raw, name))
              for name, raw in (("uln", uln), ("lln", lln))}
    try:
        rules.lab_value(analyte, number, unit, field="", **limits)
    except rules.RulesInputError as exc:
        field = exc.field if exc.field in ("value", "unit", "uln", "lln") else "value"
        raise ValidationError({field: exc.message}) from None
    return number


def lab_result_add(*, actor, patient: Patient, analyte: str, value: Any, unit: str,
                   collected_at: dt.datetime, uln: Any = None, lln: Any = None) -> LabResult:
    """Record one lab result (a `LabResultRecorded` event follows on commit)."""
    with transaction.atomic():
        result = _lab_result_create(actor=actor, patient=patient, analyte=analyte, value=value,
                                    unit=unit, collected_at=collected_at, uln=uln, lln=lln)
        events.publish(events.LabResultRecorded(patient_id=patient.pk,
                                                lab_result_ids=(result.pk,)))
    return result


def _lab_result_create(*, actor, patient: Patient, analyte: str, value: Any, unit: str,
                       collected_at: dt.datetime, uln: Any = None, lln: Any = None) -> LabResult:
    number = lab_validate(analyte=analyte, value=value, unit=unit, uln=uln, lln=lln)
    if collected_at.tzinfo is None:
        raise ValidationError({"collected_at": "Give the collection time with its time zone."})
    with transaction.atomic():
        result = LabResult.objects.create(
            patient=patient, analyte=analyte, value=number, unit=unit or "",
            uln=None if uln in (None, "") else Decimal(str(uln)),
            lln=None if lln in (None, "") else Decimal(str(lln)),
            collected_at=collected_at, entered_by=actor,
        )
        audit.record_create(actor=actor, obj=result)
    return result


def _notify_team(*, actor, patient: Patient, subject: str, body: str) -> None:
    """Tell the treating team (and the referrer) on commit; never the person who acted."""
    team = centre_team(patient.centre_id)
    recipients = [u for u in [*team, patient.referring_oncologist] if u.pk != actor.pk]
    url = reverse("patients:detail", args=[patient.external_id])
    transaction.on_commit(lambda: notify(recipients=recipients, subject=subject, body=body,
                                         url=url))


def lab_panel_add(*, actor, patient: Patient, results: list[dict[str, Any]],
                  pregnancy: dict[str, Any] | None = None) -> list[LabResult]:
    """Save a panel of labs drawn together (and the pregnancy test taken with it, if any); the
    treating team hears about the labs."""
    with transaction.atomic():
        saved = [_lab_result_create(actor=actor, patient=patient, **result)
                 for result in results]
        if saved:
            events.publish(events.LabResultRecorded(patient_id=patient.pk,
                                                    lab_result_ids=tuple(r.pk for r in saved)))
            _notify_team(actor=actor, patient=patient, subject="New lab results",
                         body=f"{len(saved)} new lab results for patient {patient.mrn}.")
        if pregnancy is not None:
            pregnancy_record(actor=actor, patient=patient, **pregnancy)
    return saved


# The pregnancy entry: a test result, or "not applicable" with who said so.
PREGNANCY_RESULTS = {
    "negative": Patient.Pregnancy.EXCLUDED,
    "positive": Patient.Pregnancy.POSITIVE,
    "not_applicable": Patient.Pregnancy.NOT_APPLICABLE,
}


def pregnancy_record(*, actor, patient: Patient, result: str,
                     tested_on: dt.date | None = None, stated_by: str = "") -> Patient:
    """Record the pregnancy check before the first dose: a negative or positive test with its
    date, or "not applicable" with who said so (required). Audited; readiness follows."""
    if result not in PREGNANCY_RESULTS:
        raise ValidationError({"pregnancy_test": "Choose negative, positive or not applicable."})
    stated_by = (stated_by or "").strip()
    if result == "not_applicable":
        if not stated_by:
            raise ValidationError({"pregnancy_stated_by": "Say who confirmed that the patient "
                                                          "cannot become pregnant."})
        tested_on = None
    else:
        if tested_on is None:
            raise ValidationError({"pregnancy_tested_on": "Give the date of the test."})
        if tested_on > centre_today(patient.centre):
            raise ValidationError({"pregnancy_tested_on": "The test date is in the future."})
        stated_by = ""
    fields = ["pregnancy", "pregnancy_tested_on", "pregnancy_stated_by",
              "pregnancy_recorded_by", "pregnancy_recorded_at"]
    with transaction.atomic():
        before = audit.snapshot(patient, ["pregnancy", "pregnancy_tested_on",
                                          "pregnancy_stated_by", "pregnancy_recorded_by_id",
                                          "pregnancy_recorded_at"])
        patient.pregnancy = PREGNANCY_RESULTS[result]
        patient.pregnancy_tested_on = tested_on
        patient.pregnancy_stated_by = stated_by
        patient.pregnancy_recorded_by = actor
        patient.pregnancy_recorded_at = timezone.now()
        patient.full_clean()
        patient.save(update_fields=[*fields, "updated_at"])
        audit.record_update(actor=actor, obj=patient, before=before,
                            note=f"Pregnancy: {patient.get_pregnancy_display()}.")
        events.publish(events.PatientRecordChanged(patient_id=patient.pk, what="pregnancy"))
    return patient


def lab_result_mark_in_error(*, actor, result: LabResult, reason: str) -> LabResult:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the result is in error."})
    with transaction.atomic():
        before = audit.snapshot(result, ["entered_in_error"])
        result.entered_in_error = True
        result.save(update_fields=["entered_in_error"])
        audit.record_update(actor=actor, obj=result, before=before, note=reason)
        events.publish(events.LabResultCorrected(patient_id=result.patient_id,
                                                 lab_result_id=result.pk))
    return result


def derive_grade(profile: TumourProfile) -> None:
    """Set the profile's grade and its explanation from the rules (WHO 2019)."""
    result = rules.tumour_grade(
        profile.differentiation,
        ki67_percent=profile.ki67_percent,
        mitoses_per_2mm2=profile.mitoses_per_2mm2,
    )
    profile.grade = str(result.grade)
    profile.grade_explanation = " ".join(result.reasons)


def tumour_profile_save(*, actor, patient: Patient, data: dict[str, Any]) -> TumourProfile:
    with transaction.atomic():
        profile = TumourProfile.objects.filter(patient=patient).first()
        before = audit.snapshot(profile) if profile else None
        if profile is None:
            profile = TumourProfile(patient=patient)
        for key, value in data.items():
            setattr(profile, key, value)
        derive_grade(profile)
        profile.full_clean()
        profile.save()
        if before is None:
            audit.record_create(actor=actor, obj=profile)
        else:
            audit.record_update(actor=actor, obj=profile, before=before)
    return profile


def _create(actor, model, **fields):
    obj = model(**fields)
    obj.full_clean()
    obj.save()
    audit.record_create(actor=actor, obj=obj)
    return obj


def imaging_add(*, actor, patient: Patient, **fields) -> ImagingStudy:
    with transaction.atomic():
        study = _create(actor, ImagingStudy, patient=patient, entered_by=actor, **fields)
        events.publish(events.ImagingRecorded(patient_id=patient.pk, imaging_id=study.pk))
    return study


def performance_status_add(*, actor, patient: Patient, **fields) -> PerformanceStatus:
    with transaction.atomic():
        status = _create(actor, PerformanceStatus, patient=patient, entered_by=actor, **fields)
        events.publish(events.PatientRecordChanged(patient_id=patient.pk,
                                                   what="performance_status"))
    return status


def adverse_event_report(*, actor, patient: Patient, **fields) -> AdverseEvent:
    """Record an adverse event and tell the treating team (and the referrer) about it."""
    with transaction.atomic():
        event = _create(actor, AdverseEvent, patient=patient, reported_by=actor, **fields)
        _notify_team(actor=actor, patient=patient,
                     subject=f"Adverse event reported: grade {event.ctcae_grade}",
                     body=f"A grade {event.ctcae_grade} adverse event "
                          f"({event.get_category_display()}) was reported for patient "
                          f"{patient.mrn}.")
        events.publish(events.AdverseEventReported(patient_id=patient.pk,
                                                   adverse_event_id=event.pk,
                                                   ctcae_grade=event.ctcae_grade))
    return event


def patient_update(*, actor, patient: Patient, data: dict[str, Any]) -> Patient:
    with transaction.atomic():
        before = audit.snapshot(patient, list(data))
        for key, value in data.items():
            setattr(patient, key, value)
        patient.full_clean()
        patient.save()
        audit.record_update(actor=actor, obj=patient, before=before)
    return patient


def mrn_allocate(*, centre) -> str:
    """The next medical record number of `centre` (call inside a transaction)."""
    Centre.objects.select_for_update().get(pk=centre.pk)
    count = Patient.objects.filter(centre=centre).count()
    while True:
        count += 1
        mrn = f"NC{centre.pk:02d}-{count:06d}"
        if not Patient.objects.filter(centre=centre, mrn=mrn).exists():
            return mrn


def patient_register(*, actor, centre, referring_oncologist, data: dict[str, Any]) -> Patient:
    """Create a patient of the specialist `centre` with a newly allocated MRN."""
    if not centre.is_specialist_centre:
        raise ValidationError({"centre": "Patients are registered at a NET specialist centre."})
    with transaction.atomic():
        patient = Patient(centre=centre, referring_oncologist=referring_oncologist,
                          mrn=mrn_allocate(centre=centre), **data)
        patient.full_clean()
        patient.save()
        audit.record_create(actor=actor, obj=patient)
    return patient
