"""How the PRRT app hears of the record: readiness follows what is recorded, at once.

Each handler recomputes from the record (idempotent), on commit of the transaction that changed
it; see :mod:`netcare.events`. Registered in :meth:`prrt.apps.PrrtConfig.ready`.
"""

from __future__ import annotations

from netcare import events
from prrt.models import CourseState, TreatmentCourse
from prrt.services import course_refresh

RUNNING = (CourseState.APPROVED, CourseState.ACTIVE)


def refresh_patient_courses(event: events.LabResultRecorded | events.LabResultCorrected
                            | events.ImagingRecorded | events.AdverseEventReported
                            | events.PatientRecordChanged | events.SSAInjectionRecorded) -> None:
    """A lab, a scan, an adverse event or another record change may make the next cycle ready,
    or no longer ready: recompute the patient's running courses now."""
    for course in TreatmentCourse.objects.filter(
            patient_id=event.patient_id, state__in=RUNNING).select_related("centre", "patient"):
        course_refresh(course=course)


def refresh_approved_course(event: events.CourseChanged) -> None:
    """A course just approved: its first cycle's readiness is computed at once."""
    if event.target != CourseState.APPROVED:
        return
    course = TreatmentCourse.objects.select_related("centre", "patient").get(pk=event.course_id)
    course_refresh(course=course)


def refresh_booked_course(event: events.CycleBooked) -> None:
    """A booking moves the cycle's day, and with it the lab window and the washout."""
    course = TreatmentCourse.objects.select_related("centre", "patient").get(pk=event.course_id)
    if course.state in RUNNING:
        course_refresh(course=course)


HANDLERS: list[tuple[type[events.Event], events.Handler]] = [
    (events.LabResultRecorded, refresh_patient_courses),
    (events.LabResultCorrected, refresh_patient_courses),
    (events.ImagingRecorded, refresh_patient_courses),
    (events.AdverseEventReported, refresh_patient_courses),
    (events.PatientRecordChanged, refresh_patient_courses),
    (events.SSAInjectionRecorded, refresh_patient_courses),
    (events.CycleBooked, refresh_booked_course),
    (events.AdministrationAmended, refresh_booked_course),
    (events.CourseChanged, refresh_approved_course),
]
