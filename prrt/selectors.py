"""Read queries for courses and cycles, scoped by netcare.access."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from netcare import access
from prrt.models import CourseState, Cycle, CycleState, TreatmentCourse


def courses_visible(user) -> QuerySet[TreatmentCourse]:
    return access.scope_to_patients(
        user, TreatmentCourse.objects.select_related("patient", "centre", "referral"))


def course_for(user, external_id) -> TreatmentCourse:
    return access.get_object_for(user, courses_visible(user), external_id=external_id)


def cycles_visible(user) -> QuerySet[Cycle]:
    return access.scope_to_patients(
        user, Cycle.objects.select_related("course__patient", "course__centre"),
        patient_path="course__patient")


def cycle_for(user, external_id) -> Cycle:
    return access.get_object_for(user, cycles_visible(user), patient_path="course__patient",
                                 external_id=external_id)


def approval_queue(user) -> QuerySet[Cycle]:
    """Cycles waiting for a specialist: ready, or withheld and ready again, by due date."""
    return (cycles_visible(user).filter(course__centre_id=user.centre_id,
                                        state=CycleState.READY)
            .order_by("planned_date", "due_date", "id"))


def eligibility_queue(user) -> QuerySet[TreatmentCourse]:
    return (courses_visible(user).filter(centre_id=user.centre_id,
                                         state=CourseState.ELIGIBILITY_REVIEW)
            .order_by("planned_first_dose", "id"))


def course_list(user) -> QuerySet[TreatmentCourse]:
    """Every visible course with its cycles, for the course status page (two queries)."""
    return (courses_visible(user)
            .prefetch_related(Prefetch("cycles", queryset=Cycle.objects.order_by("number")))
            .order_by("patient__family_name", "patient__given_name", "id"))
