"""Build the clinical rules' inputs from a patient's records.

The rules are pure and know nothing of the database; this module is the one adapter between the
two, so every page and service evaluates the same data the same way. Callers pass `today`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import rules
from patients.models import ImagingStudy, LabResult, Patient, PerformanceStatus, TumourProfile

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


def load_records(patient: Patient, *, today: dt.date,
                 lab_window_days: int = CURRENT_LABS_DAYS) -> PatientRecords:
    since = dt.datetime.combine(today - dt.timedelta(days=lab_window_days), dt.time.min,
                                tzinfo=dt.UTC)
    latest_labs: dict[str, LabResult] = {}
    labs = (LabResult.objects.filter(patient=patient, entered_in_error=False,
                                     collected_at__gte=since)
            .order_by("analyte", "-collected_at", "-id"))
    for lab in labs:
        latest_labs.setdefault(lab.analyte, lab)
    sstr = (ImagingStudy.objects.filter(patient=patient,
                                        modality__in=ImagingStudy.SSTR_MODALITIES)
            .order_by("-performed_on", "-id").first())
    performance: dict[str, PerformanceStatus] = {}
    for ps in PerformanceStatus.objects.filter(patient=patient).order_by("-assessed_on", "-id"):
        performance.setdefault(ps.scale, ps)
    profile = TumourProfile.objects.filter(patient=patient).first()
    return PatientRecords(patient, profile, latest_labs, sstr, performance)


def rules_labs(latest: dict[str, LabResult]) -> rules.Labs:
    values: dict[str, object] = {}
    for analyte, lab in latest.items():
        if analyte in LabResult.PLAIN_NUMBER_ANALYTES:
            values[analyte] = lab.value
        else:
            values[analyte] = rules.lab_value(analyte, lab.value, lab.unit, uln=lab.uln,
                                              lln=lab.lln, field=f"labs.{analyte}")
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
        labs=rules_labs(records.latest_labs),
        karnofsky=karnofsky.value if karnofsky else None,
        ecog=ecog.value if ecog else None,
        extensive_liver_disease=profile.extensive_liver_disease if profile else None,
        extensive_bone_disease=profile.extensive_bone_disease if profile else None,
        last_long_acting_ssa=patient.last_long_acting_ssa_on,
    )


def eligibility_for(patient: Patient, *, today: dt.date,
                    planned_first_dose: dt.date | None = None) -> list[rules.Finding]:
    """The eligibility findings of §2 for the patient's current records."""
    records = load_records(patient, today=today)
    return rules.eligibility_findings(
        eligibility_input(records, today=today, planned_first_dose=planned_first_dose), today
    )
