"""Records for PRRT tests: a patient with a booked consult, a course, labs entered as a
clinician would, and the infusion day."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from patients.services import imaging_add, lab_result_add, tumour_profile_save
from prrt import services
from referrals.models import ReferralState
from tests.factories import PatientFactory, ReferralFactory

TZ = zoneinfo.ZoneInfo("Europe/London")
NORMAL = {"platelets": ("210", "10^9/L"), "hemoglobin": ("125", "g/L"),
          "neutrophils": ("3.2", "10^9/L"), "creatinine": ("0.9", "mg/dL"),
          "bilirubin": ("0.6", "mg/dL"), "albumin": ("41", "g/L")}


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=TZ)


def enter_labs(actor, patient, day: dt.date, **overrides) -> None:
    values = {**NORMAL, **overrides}
    for analyte, (value, unit) in values.items():
        lab_result_add(actor=actor, patient=patient, analyte=analyte, value=value, unit=unit,
                       collected_at=at(day, 8), uln="1.2" if analyte == "bilirubin" else None)


def approved_course(*, centre, oncologist, specialist, first_dose: dt.date, sex="F",
                    weight="68", born=dt.date(1962, 6, 1)):
    """A patient, referred and booked, whose course the specialist has approved."""
    patient = PatientFactory(centre=centre, referring_oncologist=oncologist, sex=sex,
                             weight_kg=Decimal(weight), date_of_birth=born,
                             progression_on_ssa=True, pregnancy="not_applicable",
                             pregnancy_stated_by="Referring oncologist: post-menopausal",
                             last_long_acting_ssa_on=first_dose - dt.timedelta(days=40))
    tumour_profile_save(actor=specialist, patient=patient, data={
        "primary_site": "small_bowel", "differentiation": "well", "ki67_percent": "4"})
    imaging_add(actor=specialist, patient=patient, modality="ga68_dotatate_pet",
                performed_on=first_dose - dt.timedelta(days=60), sstr_positive=True,
                uptake_score=3)
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    course = services.course_open(actor=specialist, referral=referral,
                                  planned_first_dose=first_dose)
    services.course_decide_eligibility(actor=specialist, course=course, approve=True,
                                       reason="Eligible after MDT discussion.",
                                       today=first_dose - dt.timedelta(days=20))
    course.refresh_from_db()
    return course


def give(actor, cycle, day: dt.date, activity="7.4", **extra):
    return services.cycle_administer(
        actor=actor, cycle=cycle, administered_at=at(day, 10), activity_gbq=Decimal(activity),
        no_short_acting_ssa_24h=True, lar_injected_at=at(day, 16), **extra)
