"""The eligibility checklist as the referral and course pages show it."""

from __future__ import annotations

from netcare.clock import centre_today
from patients.models import LabResult
from patients.records import eligibility_review, lab_ids


def eligibility_context(patient, centre, course, *, live: bool) -> dict:
    """The eligibility checklist of a referral or its course: the one the course's decision
    stored (as decided on, whatever changed since), or, for the centre's team before a decision,
    the records evaluated now, for the planned first dose when a course is open."""
    if course is not None and course.eligibility_decided_at and course.eligibility_checklist:
        checklist = course.eligibility_checklist
        used = lab_ids(checklist)
        wrong = list(LabResult.objects.filter(external_id__in=used, entered_in_error=True)
                     .select_related("marked_in_error_by")) if used else []
        return {"checklist": checklist, "checklist_decided": True, "labs_in_error": wrong,
                "findings": course.eligibility_findings}
    if not live:
        return {}
    today = centre_today(centre)
    try:
        review = eligibility_review(
            patient, today=today,
            planned_first_dose=course.planned_first_dose if course is not None else None)
    except ValueError as exc:  # records the rules refuse (e.g. a future scan date)
        return {"findings_error": str(exc)}
    return {"checklist": review.checklist, "checklist_decided": False,
            "findings": [f.as_dict() for f in review.findings]}
