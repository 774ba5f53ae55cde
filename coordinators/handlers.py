"""How the plan hears of the workflows: every change that moves a course's plan re-syncs it.

Each handler recomputes from the record (idempotent), on commit of the transaction that changed
it; see :mod:`netcare.events`. Registered in :meth:`coordinators.apps.CoordinatorsConfig.ready`.
"""

from __future__ import annotations

from coordinators.plan import plan_sync
from netcare import events
from prrt.models import TreatmentCourse


def sync_course_plan(event: events.CourseChanged | events.CycleChanged | events.CycleDecided
                     | events.CycleAdministered) -> None:
    """Bring the course's tasks and reminders in line with its plan, on the centre's date."""
    course = TreatmentCourse.objects.filter(pk=event.course_id).first()
    if course is not None:
        plan_sync(course=course)


HANDLERS: list[tuple[type[events.Event], events.Handler]] = [
    (events.CourseChanged, sync_course_plan),
    (events.CycleChanged, sync_course_plan),
    (events.CycleDecided, sync_course_plan),
    (events.CycleAdministered, sync_course_plan),
]
