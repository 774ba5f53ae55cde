"""Patient record use cases. Lab values are validated by the clinical rules' units, and the tumour
grade is derived by the rules from the pathology, never typed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import rules
from netcare import access, audit, events
from netcare.clock import centre_today
from netcare.models import Centre, Role, User
from netcare.notifications import centre_team, notify
from patients.models import (
    AdverseEvent,
    ImagingStudy,
    LabResult,
    Patient,
    PerformanceStatus,
    TumourProfile,
)
from patients.ranges import CentreRanges

_check_can_change = access.check_may_change_patient


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"'{value}' is not a number."}) from None
    if not number.is_finite():
        raise ValidationError({field: "Enter a finite number."})
    return number


def lab_validate(*, analyte: str, value: Any, unit: str, uln: Any = None,
                 lln: Any = None, ranges: CentreRanges | None = None) -> Decimal:
    """Check one lab value with the rules' units and plausible ranges (§4.6, defined once in
    the rules): every path that stores a lab (the forms, the API, the referral intake, imports)
    comes through here. A ValidationError names the bad field and the accepted range.

    With the centre's reference `ranges`, a limit the value does not give is the centre's (so a
    bilirubin typed without its ULN is accepted where the centre keeps one for its unit)."""
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
    if ranges is not None and None in limits.values():
        centre = ranges.limits(analyte, unit, limits["uln"], limits["lln"])
        limits = {"uln": centre.uln, "lln": centre.lln}
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
                                    unit=unit, collected_at=collected_at, uln=uln, lln=lln,
                                    ranges=CentreRanges.of(patient.centre_id))
        events.publish(events.LabResultRecorded(patient_id=patient.pk,
                                                lab_result_ids=(result.pk,)))
    return result


def _lab_result_create(*, actor, patient: Patient, analyte: str, value: Any, unit: str,
                       collected_at: dt.datetime, uln: Any = None, lln: Any = None,
                       ranges: CentreRanges | None = None) -> LabResult:
    number = lab_validate(analyte=analyte, value=value, unit=unit, uln=uln, lln=lln,
                          ranges=ranges)
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
    ranges = CentreRanges.of(patient.centre_id)
    with transaction.atomic():
        saved = [_lab_result_create(actor=actor, patient=patient, ranges=ranges, **result)
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
    """Mark a result entered in error, with why (required). It stays on the record, struck
    through with the reason, but leaves the trend and the rules; a decision that used it is
    flagged on its cycle page. Audited with the values before and after."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the result is in error."})
    _check_can_change(actor, result.patient)
    with transaction.atomic():
        locked = LabResult.objects.select_for_update().select_related("patient").get(
            pk=result.pk)
        if locked.entered_in_error:
            raise ValidationError({"reason": "This result is already marked in error."})
        fields = ["entered_in_error", "error_reason", "marked_in_error_by_id",
                  "marked_in_error_at"]
        before = audit.snapshot(locked, fields)
        locked.entered_in_error = True
        locked.error_reason = reason
        locked.marked_in_error_by = actor
        locked.marked_in_error_at = timezone.now()
        locked.save(update_fields=["entered_in_error", "error_reason", "marked_in_error_by",
                                   "marked_in_error_at"])
        audit.record_update(actor=actor, obj=locked, before=before, note=reason)
        events.publish(events.LabResultCorrected(patient_id=locked.patient_id,
                                                 lab_result_id=locked.pk))
    return locked


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


ECOG_MAX = 4
PS_FIELDS = ["scale", "value", "assessed_on", "assessed_by"]


def performance_status_validate(*, today: dt.date, scale: str, value: Any,
                                assessed_on: dt.date | None,
                                assessed_by: str | None = None) -> dict[str, Any]:
    """One assessment, checked: ECOG 0-4 or Karnofsky 0-100 in steps of 10 (what the rules
    read), dated and not after `today` (the centre's). A ValidationError names each bad field;
    the forms and the API check through here."""
    errors: dict[str, str] = {}
    if scale not in PerformanceStatus.Scale.values:
        errors["scale"] = "Choose ECOG or Karnofsky."
    number: int | None = None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
    except ValueError:
        errors["value"] = f"'{value}' is not a whole number."
    if number is not None and scale == PerformanceStatus.Scale.ECOG \
            and not 0 <= number <= ECOG_MAX:
        errors["value"] = f"ECOG is a whole number 0-{ECOG_MAX}."
    if number is not None and scale == PerformanceStatus.Scale.KARNOFSKY \
            and number not in range(0, 101, 10):
        errors["value"] = "Karnofsky is 0-100 in steps of 10."
    if assessed_on is None:
        errors["assessed_on"] = "Give the date of the assessment."
    elif assessed_on > today:
        errors["assessed_on"] = "The assessment date is in the future."
    if errors:
        raise ValidationError(errors)
    return {"scale": scale, "value": number, "assessed_on": assessed_on,
            "assessed_by": (assessed_by or "").strip()}


def performance_status_add(*, actor, patient: Patient, scale: str, value: Any,
                           assessed_on: dt.date, assessed_by: str = "") -> PerformanceStatus:
    """Record an assessment (ECOG or Karnofsky, its date and who assessed it); the eligibility
    review reads the latest one on or before its day."""
    _check_can_change(actor, patient)
    data = performance_status_validate(today=centre_today(patient.centre), scale=scale,
                                       value=value, assessed_on=assessed_on,
                                       assessed_by=assessed_by)
    with transaction.atomic():
        status = _create(actor, PerformanceStatus, patient=patient, entered_by=actor, **data)
        events.publish(events.PatientRecordChanged(patient_id=patient.pk,
                                                   what="performance_status"))
    return status


def performance_status_correct(*, actor, assessment: PerformanceStatus, reason: str,
                               **fields) -> PerformanceStatus:
    """Correct an assessment in place (a draft referral's, typed wrong): audited with the
    values before and after and the reason."""
    patient = assessment.patient
    _check_can_change(actor, patient)
    current = {name: getattr(assessment, name) for name in PS_FIELDS}
    data = performance_status_validate(today=centre_today(patient.centre),
                                       **{**current, **fields})
    with transaction.atomic():
        locked = PerformanceStatus.objects.select_for_update().get(pk=assessment.pk)
        before = audit.snapshot(locked, PS_FIELDS)
        for key, value in data.items():
            setattr(locked, key, value)
        if audit.snapshot(locked, PS_FIELDS) == before:
            return locked
        locked.full_clean()
        locked.save()
        audit.record_update(actor=actor, obj=locked, before=before, note=reason)
        events.publish(events.PatientRecordChanged(patient_id=patient.pk,
                                                   what="performance_status"))
    return locked


IMAGING_FIELDS = ["modality", "performed_on", "sstr_positive", "uptake_score", "report"]


def imaging_correct(*, actor, study: ImagingStudy, reason: str, **fields) -> ImagingStudy:
    """Correct an imaging study in place (a draft referral's): audited with the values before
    and after and the reason."""
    _check_can_change(actor, study.patient)
    with transaction.atomic():
        locked = ImagingStudy.objects.select_for_update().get(pk=study.pk)
        before = audit.snapshot(locked, IMAGING_FIELDS)
        for key, value in fields.items():
            if key not in IMAGING_FIELDS:
                raise ValidationError({key: "This field cannot be changed."})
            setattr(locked, key, value)
        if audit.snapshot(locked, IMAGING_FIELDS) == before:
            return locked
        locked.full_clean()
        locked.save()
        audit.record_update(actor=actor, obj=locked, before=before, note=reason)
        events.publish(events.ImagingRecorded(patient_id=locked.patient_id,
                                              imaging_id=locked.pk))
    return locked


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
    """Change a patient's details, audited with the values before and after.

    Setting (or changing) the primary oncologist grants that oncologist access to the whole
    record (netcare.access): only the treating centre's navigators and specialists may do it,
    the oncologist must be an active referring oncologist, the audit row says it is an access
    grant, and the patient's team is told."""
    grant = "primary_oncologist" in data and _primary_oncologist_changes(
        actor, patient, data["primary_oncologist"])
    with transaction.atomic():
        before = audit.snapshot(patient, list(data))
        previous = patient.primary_oncologist if grant else None
        for key, value in data.items():
            setattr(patient, key, value)
        patient.full_clean()
        patient.save()
        note = _access_note(patient, previous) if grant else ""
        audit.record_update(actor=actor, obj=patient, before=before, note=note)
        if grant:
            _notify_access(actor, patient, previous, note)
    return patient


def _primary_oncologist_changes(actor, patient: Patient, oncologist: User | None) -> bool:
    """Whether the primary oncologist changes; refused unless the actor is the treating centre's
    team and the oncologist an active referring oncologist."""
    if getattr(oncologist, "pk", None) == patient.primary_oncologist_id:
        return False
    if not (access.can_change_patient(actor, patient)
            and actor.role in (Role.NAVIGATOR, Role.SPECIALIST)
            and actor.centre_id == patient.centre_id):
        raise PermissionDenied("Only the treating centre's navigators and specialists can set "
                               "the primary oncologist.")
    if oncologist is not None and not (oncologist.is_active
                                       and oncologist.role == Role.REFERRING_ONCOLOGIST):
        raise ValidationError({"primary_oncologist": "Choose an active referring oncologist."})
    return True


def _access_note(patient: Patient, previous: User | None) -> str:
    current = patient.primary_oncologist
    if current is None:
        return f"Access removed: {previous} is no longer the primary oncologist"
    note = f"Access granted: {current} is the primary oncologist of {patient.mrn}"
    return note if previous is None else f"{note} (instead of {previous})"


def _notify_access(actor, patient: Patient, previous: User | None, note: str) -> None:
    """The patient's team (the centre's, the referrer, the oncologists concerned) is told."""
    current = patient.primary_oncologist
    team = [*centre_team(patient.centre_id), patient.referring_oncologist, current, previous]
    recipients = [u for u in team if u is not None and u.pk != actor.pk]
    url = reverse("patients:detail", args=[patient.external_id])
    subject = (f"Primary oncologist of patient {patient.mrn}: {current}" if current is not None
               else f"Patient {patient.mrn} has no primary oncologist now")
    transaction.on_commit(lambda: notify(recipients=recipients, subject=subject,
                                         body=note + ".", url=url))


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
