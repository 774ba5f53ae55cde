"""Build the clinical rules' inputs from a patient's records.

The rules are pure and know nothing of the database; this module is the one adapter between the
two, so every page and service evaluates the same data the same way. Callers pass `today`: the
records are read as they stood that day (nothing dated after it counts), and a lab result with
no limits of normal of its own is read with its centre's reference range (patients.ranges).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import rules
from netcare.numbers import plain, unit_display
from patients.models import ImagingStudy, LabResult, Patient, PerformanceStatus, TumourProfile
from patients.ranges import CentreRanges
from rules.eligibility import eligibility_checklist

# Labs older than this do not count as "current" for eligibility or a dose decision.
CURRENT_LABS_DAYS = 30


@dataclass(frozen=True)
class PatientRecords:
    """What the rules need about one patient, fetched in a fixed number of queries."""

    patient: Patient
    profile: TumourProfile | None
    latest_labs: dict[str, LabResult]
    latest_sstr: ImagingStudy | None
    latest_performance: dict[str, PerformanceStatus]
    ranges: CentreRanges = field(default_factory=CentreRanges)


def _start_of(day: dt.date, patient: Patient) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min,
                               tzinfo=zoneinfo.ZoneInfo(patient.centre.time_zone))


def latest_performance(assessments) -> dict[str, PerformanceStatus]:
    """The latest assessment, by scale: those of the latest day assessed (a Karnofsky score of
    last year does not stand beside this week's ECOG). `assessments` newest first."""
    found: dict[str, PerformanceStatus] = {}
    day = None
    for assessment in assessments:
        if day is None:
            day = assessment.assessed_on
        if assessment.assessed_on != day:
            break
        found.setdefault(assessment.scale, assessment)
    return found


def load_records(patient: Patient, *, today: dt.date,
                 lab_window_days: int = CURRENT_LABS_DAYS) -> PatientRecords:
    """The patient's records as they stood on `today`: the latest lab per analyte collected in
    the window before it (results marked in error left out), the latest SSTR scan and the latest
    performance status on or before it."""
    since = _start_of(today - dt.timedelta(days=lab_window_days), patient)
    until = _start_of(today + dt.timedelta(days=1), patient)
    latest_labs: dict[str, LabResult] = {}
    labs = (LabResult.objects.filter(patient=patient, entered_in_error=False,
                                     collected_at__gte=since, collected_at__lt=until)
            .select_related("entered_by").order_by("analyte", "-collected_at", "-id"))
    for lab in labs:
        latest_labs.setdefault(lab.analyte, lab)
    sstr = (ImagingStudy.objects.filter(patient=patient, performed_on__lte=today,
                                        modality__in=ImagingStudy.SSTR_MODALITIES)
            .select_related("entered_by").order_by("-performed_on", "-id").first())
    performance = latest_performance(
        PerformanceStatus.objects.filter(patient=patient, assessed_on__lte=today)
        .select_related("entered_by").order_by("-assessed_on", "-id"))
    profile = TumourProfile.objects.filter(patient=patient).first()
    return PatientRecords(patient, profile, latest_labs, sstr, performance,
                          CentreRanges.of(patient.centre_id))


def rules_labs(latest: dict[str, LabResult], ranges: CentreRanges | None = None) -> rules.Labs:
    """The rules' labs from the latest result per analyte; a limit of normal a result lacks is
    its centre's (`ranges`)."""
    ranges = ranges or CentreRanges()
    values: dict[str, object] = {}
    for analyte, lab in latest.items():
        if analyte in LabResult.PLAIN_NUMBER_ANALYTES:
            values[analyte] = lab.value
        else:
            limits = ranges.limits_for(lab)
            values[analyte] = rules.lab_value(analyte, lab.value, lab.unit, uln=limits.uln,
                                              lln=limits.lln, field=f"labs.{analyte}")
    return rules.Labs(**values)


def rules_patient(patient: Patient, today: dt.date) -> rules.Patient | None:
    if patient.weight_kg is None:
        return None
    return rules.Patient(sex=patient.sex, age_years=patient.age_on(today),
                         weight_kg=Decimal(patient.weight_kg))


def eligibility_input(records: PatientRecords, *, today: dt.date,
                      planned_first_dose: dt.date | None = None) -> rules.EligibilityInput:
    patient, profile = records.patient, records.profile
    sstr = records.latest_sstr
    karnofsky = records.latest_performance.get(PerformanceStatus.Scale.KARNOFSKY)
    ecog = records.latest_performance.get(PerformanceStatus.Scale.ECOG)
    return rules.EligibilityInput(
        planned_first_dose=planned_first_dose,
        sstr_imaging=None if sstr is None or sstr.sstr_positive is None else rules.SstrImaging(
            date=sstr.performed_on, positive=sstr.sstr_positive,
            modality=sstr.get_modality_display()),
        differentiation=profile.differentiation if profile else None,
        ki67_percent=profile.ki67_percent if profile else None,
        mitoses_per_2mm2=profile.mitoses_per_2mm2 if profile else None,
        gep_primary=profile.is_gep if profile else None,
        metastatic_or_unresectable=profile.metastatic_or_unresectable if profile else None,
        progression_on_ssa=patient.progression_on_ssa,
        patient=rules_patient(patient, today),
        pregnancy=patient.pregnancy or None,
        labs=rules_labs(records.latest_labs, records.ranges),
        karnofsky=karnofsky.value if karnofsky else None,
        ecog=ecog.value if ecog else None,
        extensive_liver_disease=profile.extensive_liver_disease if profile else None,
        extensive_bone_disease=profile.extensive_bone_disease if profile else None,
        last_long_acting_ssa=patient.last_long_acting_ssa_on,
    )


def eligibility_for(patient: Patient, *, today: dt.date,
                    planned_first_dose: dt.date | None = None) -> list[rules.Finding]:
    """The eligibility findings of §2 for the patient's records on `today`."""
    return eligibility_review(patient, today=today,
                              planned_first_dose=planned_first_dose).findings


# --- the checklist: every criterion with its value, date and source ---------------------------


@dataclass(frozen=True)
class EligibilityReview:
    """The rules' findings (unchanged) and the checklist built on them: ``checklist`` is plain
    JSON, the shape a course stores with its eligibility decision."""

    findings: list[rules.Finding]
    checklist: dict[str, Any]


def eligibility_review(patient: Patient, *, today: dt.date,
                       planned_first_dose: dt.date | None = None) -> EligibilityReview:
    """Every Table 1 criterion for the patient's records as they stood on `today` (the day of
    the decision), for a first dose on `planned_first_dose` (default: `today`): its value, the
    date and source of the records it read, passed or not."""
    records = load_records(patient, today=today)
    inp = eligibility_input(records, today=today, planned_first_dose=planned_first_dose)
    findings = rules.eligibility_findings(inp, today)
    criteria = []
    for criterion in eligibility_checklist(inp, today):
        item = criterion.as_dict()
        item["sources"] = [source for name in criterion.inputs
                           for source in _sources(name, records)]
        criteria.append(item)
    return EligibilityReview(findings, {
        "evaluated_on": today.isoformat(),
        "first_dose": (planned_first_dose or today).isoformat(),
        "criteria": criteria,
    })


def _day(moment: dt.datetime | None, patient: Patient) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(zoneinfo.ZoneInfo(patient.centre.time_zone)).date().isoformat()


def _source(what: str, day: dt.date | str | None, source: str, record: str = "",
            lab_id: str = "") -> dict[str, str | None]:
    return {"what": what, "date": day.isoformat() if isinstance(day, dt.date) else day,
            "source": source, "record": record, "lab_id": lab_id}


def _sources(name: str, records: PatientRecords) -> list[dict[str, Any]]:
    """Where the value of the input `name` came from: the record, its date and who entered it."""
    patient, profile = records.patient, records.profile
    if name.startswith("labs."):
        lab = records.latest_labs.get(name.removeprefix("labs."))
        if lab is None:
            return []
        limits = records.ranges.limits_for(lab)
        source = f"Lab result entered by {lab.entered_by}"
        if limits.from_centre:
            source += f"; limits of normal: {limits.text(lab.unit)}"
        return [_source(f"{lab.get_analyte_display()} {plain(lab.value)} "
                        f"{unit_display(lab.unit)}".strip(), _day(lab.collected_at, patient),
                        source, f"patients.LabResult:{lab.external_id}", str(lab.external_id))]
    if name == "sstr_imaging":
        study = records.latest_sstr
        if study is None:
            return []
        return [_source(study.get_modality_display(), study.performed_on,
                        f"Imaging entered by {study.entered_by}",
                        f"patients.ImagingStudy:{study.external_id}")]
    if name in ("karnofsky", "ecog"):
        assessment = records.latest_performance.get(name)
        if assessment is None:
            return []
        who = assessment.assessed_by or str(assessment.entered_by)
        return [_source(f"{assessment.get_scale_display()} {assessment.value}",
                        assessment.assessed_on, f"Assessed by {who}")]
    if name in ("differentiation", "ki67_percent", "mitoses_per_2mm2", "gep_primary",
                "metastatic_or_unresectable", "extensive_liver_disease",
                "extensive_bone_disease"):
        if profile is None:
            return []
        return [_source("Tumour profile", _day(profile.updated_at, patient),
                        "Tumour profile (pathology and staging)")]
    if name == "pregnancy":
        if not patient.pregnancy:
            return []
        if patient.pregnancy_tested_on:
            source = "Pregnancy test"
        elif patient.pregnancy_stated_by:
            source = f"Said by {patient.pregnancy_stated_by}"
        else:
            source = "Patient record"
        return [_source(patient.get_pregnancy_display(),
                        patient.pregnancy_tested_on or _day(patient.pregnancy_recorded_at,
                                                            patient), source)]
    if name == "last_long_acting_ssa":
        day = patient.last_long_acting_ssa_on
        return [] if day is None else [_source("Last long-acting SSA injection", day,
                                               "Patient record")]
    if name in ("patient", "progression_on_ssa"):
        what = ("Sex, age and weight" if name == "patient"
                else "Progression on first-line SSA")
        return [_source(what, _day(patient.updated_at, patient), "Patient record")]
    return []


def lab_ids(checklist: dict[str, Any]) -> set[str]:
    """The lab results (external ids) a stored checklist read."""
    return {source["lab_id"] for criterion in checklist.get("criteria", [])
            for source in criterion.get("sources", []) if source.get("lab_id")}
