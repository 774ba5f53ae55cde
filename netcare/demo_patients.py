"""Synthetic demo patients with referrals in every state. Names and numbers are invented."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from netcare.models import Centre, User
from patients.models import ImagingStudy, Patient
from referrals import services as referral_services
from referrals.models import ReferralState as RS

# (given, family, sex, born, referrer, target state, Ki-67, primary site; "ileum": small bowel)
DEMO_PATIENTS = [
    ("Alma", "Ashdown", "F", dt.date(1961, 3, 2), "oncologist", RS.DRAFT, 2, "ileum"),
    ("Bruno", "Bexley", "M", dt.date(1957, 7, 19), "oncologist", RS.SUBMITTED, 8, "pancreas"),
    ("Cora", "Calder", "F", dt.date(1966, 11, 5), "oncologist", RS.UNDER_REVIEW, 12, "ileum"),
    ("Dev", "Dunmore", "M", dt.date(1949, 1, 30), "oncologist", RS.INFO_REQUESTED, 4, "pancreas"),
    ("Edna", "Elwood", "F", dt.date(1970, 6, 14), "oncologist", RS.ACCEPTED, 1, "ileum"),
    ("Frank", "Fairlie", "M", dt.date(1959, 9, 9), "oncologist", RS.DECLINED, 35, "pancreas"),
    ("Greta", "Glen", "F", dt.date(1963, 4, 22), "oncologist", RS.CONSULT_BOOKED, 6, "other_gi"),
    ("Hugo", "Hartfield", "M", dt.date(1955, 12, 1), "oncologist2", RS.IN_TREATMENT, 3, "ileum"),
    ("Ines", "Inchbury", "F", dt.date(1968, 2, 17), "oncologist2", RS.REFERRED_BACK, 9, "pancreas"),
    ("Jonah", "Jessop", "M", dt.date(1952, 8, 8), "oncologist2", RS.CLOSED, 5, "ileum"),
    ("Kira", "Kestrel", "F", dt.date(1974, 10, 27), "oncologist2", RS.WITHDRAWN, 2, "lung"),
    ("Leon", "Lockwood", "M", dt.date(1960, 5, 11), "oncologist2", RS.SUBMITTED, 15, "pancreas"),
]

# The transitions (name, who) that lead from draft to each state.
PATHS: dict[str, list[tuple[str, str]]] = {
    RS.DRAFT: [],
    RS.SUBMITTED: [("submit", "referrer")],
    RS.UNDER_REVIEW: [("submit", "referrer"), ("start_review", "specialist")],
    RS.INFO_REQUESTED: [("submit", "referrer"), ("start_review", "specialist"),
                                   ("request_info", "specialist")],
    RS.ACCEPTED: [("submit", "referrer"), ("start_review", "specialist"),
                             ("accept", "specialist")],
    RS.DECLINED: [("submit", "referrer"), ("start_review", "specialist"),
                             ("decline", "specialist")],
}
PATHS[RS.CONSULT_BOOKED] = [*PATHS[RS.ACCEPTED], ("book_consult", "navigator")]
# Treatment, referral back and closing follow from the PRRT course (netcare.demo_courses).
PATHS[RS.IN_TREATMENT] = PATHS[RS.REFERRED_BACK] = PATHS[RS.CLOSED] = PATHS[RS.CONSULT_BOOKED]
PATHS[RS.WITHDRAWN] = [("submit", "referrer"), ("withdraw", "referrer")]

REASONS = {
    "request_info": "Please send the latest CT report and a CrCl.",
    "decline": "Ki-67 35 %: discuss at the MDT for other options first.",
    "withdraw": "Patient chose to continue SSA locally for now.",
    "refer_back": "Four cycles completed; follow-up scans and LAR locally.",
}


def seed_demo_patients(today: dt.date | None = None) -> list[str]:
    """Create the demo patients that do not exist yet; return the MRNs created."""
    today = today or timezone.localdate()
    centre = Centre.objects.get(name="Riverside NET Centre")
    users = {u.username: u for u in User.objects.filter(
        username__in=["navigator", "specialist", "oncologist", "oncologist2"])}
    created = []
    for index, (given, family, sex, born, referrer, state, ki67, site) in enumerate(DEMO_PATIENTS):
        if Patient.objects.filter(centre=centre, given_name=given, family_name=family).exists():
            continue
        actor = users[referrer]
        collected = dt.datetime.combine(today - dt.timedelta(days=7 + index), dt.time(9, 0),
                                        tzinfo=zoneinfo.ZoneInfo(centre.time_zone))
        labs = [
            {"analyte": "platelets", "value": 180 + 7 * index, "unit": "10^9/L"},
            {"analyte": "hemoglobin", "value": 118 + index, "unit": "g/L"},
            {"analyte": "neutrophils", "value": "3.1", "unit": "10^9/L"},
            {"analyte": "creatinine", "value": "0.9", "unit": "mg/dL"},
            {"analyte": "bilirubin", "value": "0.6", "unit": "mg/dL", "uln": "1.2"},
            {"analyte": "albumin", "value": 40, "unit": "g/L"},
        ]
        referral = referral_services.referral_intake(
            actor=actor, centre=centre,
            patient={"given_name": given, "family_name": family, "sex": sex,
                     "date_of_birth": born, "weight_kg": 62 + index * 2,
                     "email": f"{given.lower()}.{family.lower()}@patients.example",
                     "reminder_consent": index % 2 == 0,
                     "current_ssa": Patient.SSA.OCTREOTIDE_LAR, "progression_on_ssa": True,
                     "last_long_acting_ssa_on": today - dt.timedelta(days=20 + index)},
            tumour={"primary_site": "small_bowel" if site == "ileum" else site,
                    "embryonic_origin": "midgut",
                    "differentiation": "well", "ki67_percent": ki67, "stage": "IV",
                    "metastatic_or_unresectable": True},
            imaging=[{"modality": ImagingStudy.Modality.GA68_PET,
                      "performed_on": today - dt.timedelta(days=30 + 20 * index),
                      "sstr_positive": True, "uptake_score": 3}],
            labs=[{**lab, "collected_at": collected} for lab in labs],
            question="Is this patient a candidate for PRRT with [177Lu]Lu-DOTA-TATE?",
            history="Progressive liver metastases on octreotide LAR 30 mg.",
        )
        for name, who in PATHS[state]:
            actor_for = users[referrer] if who == "referrer" else users[who]
            consult = (dt.datetime.combine(today + dt.timedelta(days=10), dt.time(10, 30),
                                           tzinfo=zoneinfo.ZoneInfo(centre.time_zone))
                       if name == "book_consult" else None)
            reason = REASONS.get(name, "")
            referral = referral_services.referral_transition(
                referral=referral, name=name, actor=actor_for, reason=reason,
                consult_at=consult)
        created.append(referral.patient.mrn)
    return created
