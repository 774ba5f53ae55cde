"""How the plan hears of the record and the workflows: every change that moves a course's plan,
or may meet one of its obligations, re-syncs it at once.

Each handler recomputes from the record (idempotent), on commit of the transaction that changed
it; see :mod:`netcare.events`. Registered in :meth:`coordinators.apps.CoordinatorsConfig.ready`.
"""

from __future__ import annotations

from django.utils import timezone

from coordinators.models import CareTask, TaskKind, TaskState
from coordinators.plan import plan_sync
from coordinators.services import task_fulfil
from netcare import events
from prrt.models import CourseState, Cycle, TreatmentCourse
from prrt.schedule import PLANNED_COURSE_STATES
from prrt.services import course_refresh

OPEN_COURSE_STATES = (CourseState.APPROVED, CourseState.ACTIVE)  # as the hourly sweep


def sync_course_plan(event: events.CourseChanged | events.CycleChanged | events.CycleDecided
                     | events.CycleAdministered | events.CycleBooked
                     | events.DoseOrderChanged | events.LetterSent) -> None:
    """Bring the course's tasks and reminders in line with its plan, on the centre's date."""
    course = TreatmentCourse.objects.filter(pk=event.course_id).first()
    if course is not None:
        plan_sync(course=course)


def sync_patient_plans(event: events.LabResultRecorded | events.LabResultCorrected
                       | events.ImagingRecorded | events.SSAInjectionRecorded
                       | events.ContactLogged | events.AdverseEventReported) -> None:
    """A record of the patient may meet an obligation (labs, a scan, an injection, a call):
    re-sync the patient's planned courses, which closes what is met."""
    for course in TreatmentCourse.objects.filter(patient_id=event.patient_id,
                                                 state__in=PLANNED_COURSE_STATES):
        plan_sync(course=course)


def sync_centre_plans(event: events.CentreSettingsChanged) -> None:
    """A setting the plans read changed at the centre (its precaution window): refresh its open
    courses (a cycle whose shorter window has ended completes) and re-sync their plans, each on
    the centre's date."""
    for course in TreatmentCourse.objects.filter(centre_id=event.centre_id,
                                                 state__in=OPEN_COURSE_STATES).order_by("pk"):
        course_refresh(course=course)
        plan_sync(course=course)


def close_education_task(event: events.InstructionsGiven) -> None:
    """The written precautions were given (printed or emailed): the education task is done."""
    cycle = Cycle.objects.filter(pk=event.cycle_id).first()
    if cycle is None:
        return
    for task in CareTask.objects.filter(course_id=event.course_id, cycle=cycle.number,
                                        kind=TaskKind.RADIATION_SAFETY_EDUCATION,
                                        state=TaskState.OPEN):
        task_fulfil(task=task, done_at=timezone.now(), value=f"Instructions {event.how}.",
                    reason="Met by the record.", record=f"prrt.Cycle:{cycle.external_id}")


HANDLERS: list[tuple[type[events.Event], events.Handler]] = [
    (events.CourseChanged, sync_course_plan),
    (events.CycleChanged, sync_course_plan),
    (events.CycleDecided, sync_course_plan),
    (events.CycleAdministered, sync_course_plan),
    (events.AdministrationAmended, sync_course_plan),
    (events.CycleBooked, sync_course_plan),
    (events.DoseOrderChanged, sync_course_plan),
    (events.LetterSent, sync_course_plan),
    (events.LabResultRecorded, sync_patient_plans),
    (events.LabResultCorrected, sync_patient_plans),
    (events.ImagingRecorded, sync_patient_plans),
    (events.SSAInjectionRecorded, sync_patient_plans),
    (events.ContactLogged, sync_patient_plans),
    (events.InstructionsGiven, close_education_task),
    (events.CentreSettingsChanged, sync_centre_plans),
]
