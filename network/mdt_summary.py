"""The MDT case summary, pre-filled from the patient's record.

:func:`case_summary` reads the record as it stood on `today` and returns plain JSON (strings,
numbers, booleans, lists and dicts), frozen on the case when it is listed and refreshable until
the outcome is signed: the tumour (site, WHO grade with Ki-67 and mitoses as the clinical rules
grade them, stage, functional syndrome), the latest SSTR imaging and its age in months, the
latest labs with their CTCAE grades (as the patient page grades them), the performance status,
the SSA history and progression on SSA, and the PRRT so far (courses, cycles given with their
activity, withholds). What the record does not hold is left out, never invented.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import rules
from netcare.clock import local_date
from netcare.numbers import plain
from patients.labview import lab_rows
from patients.models import ImagingStudy, LabResult, Patient, PerformanceStatus, TumourProfile
from patients.ranges import CentreRanges
from patients.records import latest_performance
from prrt.clinical import rules_config
from prrt.models import (
    Administration,
    CourseState,
    CycleDecision,
    SSAInjection,
    TreatmentCourse,
)

# How many recent results the summary reads to find the latest one of every analyte.
RECENT_LAB_RESULTS = 200


def months_since(day: dt.date, today: dt.date) -> int:
    """Whole calendar months from `day` to `today` (0 within the first month; a month from 31
    January is over on the last day of February, as rules.add_months counts)."""
    if today < day:
        return 0
    months = (today.year - day.year) * 12 + today.month - day.month
    if rules.add_months(day, months) > today:
        months -= 1
    return months


def _tumour(profile: TumourProfile) -> dict[str, Any]:
    found: dict[str, Any] = {
        "primary_site": profile.get_primary_site_display(),
        "differentiation": profile.get_differentiation_display(),
        "metastatic_or_unresectable": profile.metastatic_or_unresectable,
        "functional_syndrome": profile.get_functional_syndrome_display(),
    }
    if profile.ki67_percent is not None:
        found["ki67_percent"] = plain(profile.ki67_percent)
    if profile.mitoses_per_2mm2 is not None:
        found["mitoses_per_2mm2"] = plain(profile.mitoses_per_2mm2)
    try:
        grade = rules.tumour_grade(profile.differentiation, profile.ki67_percent,
                                   profile.mitoses_per_2mm2)
    except rules.RulesInputError:
        grade = None
    if grade is not None and grade.grade != rules.Grade.UNKNOWN:
        found["who_grade"] = str(grade.grade)
        found["grade_reasons"] = list(grade.reasons)
    if profile.stage:
        found["stage"] = profile.stage
    if profile.extensive_liver_disease is not None:
        found["extensive_liver_disease"] = profile.extensive_liver_disease
    if profile.extensive_bone_disease is not None:
        found["extensive_bone_disease"] = profile.extensive_bone_disease
    return found


def _sstr(study: ImagingStudy, today: dt.date, max_age_months: int) -> dict[str, Any]:
    age = months_since(study.performed_on, today)
    found: dict[str, Any] = {
        "modality": study.get_modality_display(),
        "performed_on": study.performed_on.isoformat(),
        "age_months": age,
        "older_than_limit": study.performed_on < rules.add_months(today, -max_age_months),
        "limit_months": max_age_months,
    }
    if study.sstr_positive is not None:
        found["sstr_positive"] = study.sstr_positive
    if study.uptake_score is not None:
        found["krenning_score"] = study.uptake_score
    return found


def _labs(patient: Patient, until: dt.datetime, config: rules.RulesConfig) -> list[dict]:
    results = list(LabResult.objects.filter(patient=patient, entered_in_error=False,
                                            collected_at__lt=until)
                   .order_by("-collected_at", "-id")[:RECENT_LAB_RESULTS])
    rows = lab_rows(results, config, CentreRanges.of(patient.centre_id))
    labs = []
    for row in rows:
        lab: dict[str, Any] = {
            "analyte": row.analyte, "label": row.label, "value": row.value,
            "collected_on": local_date(row.latest.collected_at, patient.centre).isoformat(),
        }
        if row.grade is not None:
            lab["ctcae_grade"] = row.grade
        if row.range_text:
            lab["range"] = row.range_text
        labs.append(lab)
    return labs


def _performance(patient: Patient, today: dt.date) -> list[dict]:
    latest = latest_performance(PerformanceStatus.objects.filter(
        patient=patient, assessed_on__lte=today).order_by("-assessed_on", "-id"))
    return [{"scale": item.get_scale_display(), "value": item.value,
             "assessed_on": item.assessed_on.isoformat()} for item in latest.values()]


def _ssa(patient: Patient, until: dt.datetime) -> dict[str, Any]:
    found: dict[str, Any] = {"current": patient.get_current_ssa_display()}
    if patient.last_long_acting_ssa_on is not None:
        found["last_long_acting_on"] = patient.last_long_acting_ssa_on.isoformat()
    if patient.progression_on_ssa is not None:
        found["progression_on_ssa"] = patient.progression_on_ssa
    injections = list(SSAInjection.objects.filter(patient=patient, given_at__lt=until)
                      .order_by("given_at", "id"))
    if injections:
        found["injections_recorded"] = len(injections)
        found["first_injection_on"] = local_date(injections[0].given_at,
                                                 patient.centre).isoformat()
        found["last_injection"] = {
            "agent": injections[-1].get_agent_display(),
            "on": local_date(injections[-1].given_at, patient.centre).isoformat()}
    return found


def _prrt(patient: Patient, until: dt.datetime) -> list[dict]:
    courses = list(TreatmentCourse.objects.filter(patient=patient, created_at__lt=until)
                   .exclude(state=CourseState.NOT_APPROVED)
                   .select_related("centre").order_by("created_at", "id"))
    if not courses:
        return []
    given: dict[int, list[Administration]] = {}
    for administration in (Administration.objects.filter(cycle__course__in=courses,
                                                         administered_at__lt=until)
                           .select_related("cycle").order_by("administered_at", "id")):
        given.setdefault(administration.cycle.course_id, []).append(administration)
    withheld: dict[int, list[CycleDecision]] = {}
    for decision in (CycleDecision.objects.filter(cycle__course__in=courses,
                                                  decision=CycleDecision.Decision.WITHHOLD,
                                                  decided_at__lt=until)
                     .select_related("cycle").order_by("decided_at", "id")):
        withheld.setdefault(decision.cycle.course_id, []).append(decision)
    found = []
    for course in courses:
        doses = [{"cycle": a.cycle.number,
                  "on": local_date(a.administered_at, course.centre).isoformat(),
                  "activity_gbq": plain(a.activity_gbq)} for a in given.get(course.pk, [])]
        total = sum((a.activity_gbq for a in given.get(course.pk, [])), start=0)
        entry: dict[str, Any] = {
            "course": str(course.external_id), "centre": course.centre.name,
            "state": course.get_state_display(), "cycles_given": len(doses), "doses": doses,
            "cumulative_activity_gbq": plain(total) if doses else "0",
            "withholds": [{"cycle": d.cycle.number,
                           "on": local_date(d.decided_at, course.centre).isoformat(),
                           "categories": list(d.categories), "reason": d.reason}
                          for d in withheld.get(course.pk, [])],
        }
        if course.ended_reason:
            entry["ended_reason"] = course.ended_reason
        found.append(entry)
    return found


def case_summary(patient: Patient, today: dt.date) -> dict[str, Any]:
    """The case summary of `patient` from the record as it stood on `today` (the centre's
    day): only what the record holds."""
    zone = zoneinfo.ZoneInfo(patient.centre.time_zone)
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    config = rules_config(patient.centre)
    summary: dict[str, Any] = {
        "as_of": today.isoformat(),
        "age_years": patient.age_on(today),
        "sex": patient.get_sex_display(),
    }
    profile = TumourProfile.objects.filter(patient=patient).first()
    if profile is not None:
        summary["tumour"] = _tumour(profile)
    study = (ImagingStudy.objects.filter(patient=patient, performed_on__lte=today,
                                         modality__in=ImagingStudy.SSTR_MODALITIES)
             .order_by("-performed_on", "-id").first())
    if study is not None:
        summary["sstr_imaging"] = _sstr(study, today, config.sstr_imaging_max_age_months)
    labs = _labs(patient, until, config)
    if labs:
        summary["labs"] = labs
    performance = _performance(patient, today)
    if performance:
        summary["performance_status"] = performance
    summary["ssa"] = _ssa(patient, until)
    prrt = _prrt(patient, until)
    if prrt:
        summary["prrt"] = prrt
    return summary
