"""The referral as a ServiceRequest, the course as a CarePlan, its care tasks as Tasks and the
tasks' bookings as Appointments."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from interop.fhir import codes
from interop.fhir.mapping import (
    concept,
    condition_id,
    meta,
    netcare_concept,
    organization_ref,
    patient_ref,
    practitioner_ref,
    ref,
)

# --- the referral -------------------------------------------------------------------------------

REFERRAL_STATUS = {
    "draft": "draft", "submitted": "active", "under_review": "active",
    "info_requested": "on-hold", "accepted": "active", "consult_booked": "active",
    "in_treatment": "active", "referred_back": "completed", "closed": "completed",
    "declined": "revoked", "withdrawn": "revoked",
}


def has_tumour(patient) -> bool:
    try:
        return patient.tumour is not None
    except ObjectDoesNotExist:
        return False


def _reason(patient) -> list[dict] | None:
    return [ref("Condition", condition_id(patient))] if has_tumour(patient) else None


def state_extension(name: str, state: str) -> dict:
    """NETcare's own workflow state, beside the FHIR status it maps to."""
    return {"url": codes.extension_url(name), "valueCode": state}


def service_request(referral) -> ServiceRequest:
    """Referring oncologist (requester) to NET specialist centre (performer), with the question
    and history as notes and NETcare's referral state as an extension."""
    notes = [{"text": f"Question: {referral.question}"}]
    if referral.history:
        notes.append({"text": f"History: {referral.history}"})
    if referral.decision_reason:
        notes.append({"text": f"Decision: {referral.decision_reason}"})
    return ServiceRequest(
        id=str(referral.external_id),
        meta=meta(referral.updated_at),
        extension=[state_extension("referral-state", referral.state)],
        status=REFERRAL_STATUS[referral.state],
        intent="order",
        category=[concept(codes.SNOMED, codes.PATIENT_REFERRAL)],
        code={"text": "Assessment for PRRT with [177Lu]Lu-DOTA-TATE"},
        priority="urgent" if referral.urgency == "urgent" else "routine",
        subject=patient_ref(referral.patient),
        authoredOn=referral.submitted_at or referral.created_at,
        requester=practitioner_ref(referral.referring_oncologist),
        performer=[organization_ref(referral.centre)],
        reasonReference=_reason(referral.patient),
        note=notes,
    )


# --- care tasks -------------------------------------------------------------------------------

TASK_STATUS = {"open": "requested", "done": "completed", "skipped": "cancelled",
               "cancelled": "cancelled"}
APPOINTMENT_STATUS = {"open": "booked", "done": "fulfilled", "skipped": "cancelled",
                      "cancelled": "cancelled"}
# How long NETcare books each kind of appointment for (an infusion day with the amino acids).
APPOINTMENT_MINUTES = {"infusion": 300}
DEFAULT_APPOINTMENT_MINUTES = 30


def cycle_extension(number: int) -> dict:
    return {"url": codes.extension_url("cycle-number"), "valueInteger": number}


def _owner(task) -> dict | None:
    if task.owner_party == "user":
        return practitioner_ref(task.owner_user)
    if task.owner_party == "practice":
        return organization_ref(task.course.referral.referring_oncologist.centre)
    return organization_ref(task.course.centre)


def task_resource(task) -> Task:
    """One care task: status, owner, its window as the execution period (earliest to latest)
    and the due day as the restriction, part of the course's CarePlan."""
    reason = None
    if task.state in ("skipped", "cancelled") and task.reason:
        reason = {"text": task.reason}
    output = None
    if task.state == "done":
        done = f"Done {task.done_at:%Y-%m-%d %H:%M %Z}".strip()
        output = [{"type": {"text": "Recorded"},
                   "valueString": f"{done}: {task.value}" if task.value else done}]
    return Task(
        id=str(task.external_id),
        meta=meta(task.updated_at),
        extension=[cycle_extension(task.cycle)] if task.cycle else None,
        basedOn=[ref("CarePlan", task.course.external_id)],
        status=TASK_STATUS[task.state],
        statusReason=reason,
        intent="plan",
        code=netcare_concept("care-task-kind", task.kind, task.get_kind_display()),
        description=task.title,
        for_fhir=patient_ref(task.patient),
        executionPeriod={"start": task.earliest, "end": task.latest},
        authoredOn=task.created_at,
        lastModified=task.updated_at,
        owner=_owner(task),
        note=[{"text": task.note}] if task.note else None,
        restriction={"period": {"start": task.earliest, "end": task.due}},
        output=output,
    )


def appointment_resource(task) -> Appointment:
    """The booking of a care task (an infusion's time and room, a lab draw, a scan): the id is
    the task's."""
    minutes = APPOINTMENT_MINUTES.get(task.kind, DEFAULT_APPOINTMENT_MINUTES)
    participants = [{"actor": patient_ref(task.patient), "required": "required",
                     "status": "accepted"}]
    if task.appointment_place:
        participants.append({"actor": {"type": "Location", "display": task.appointment_place},
                             "required": "required", "status": "accepted"})
    return Appointment(
        id=str(task.external_id),
        meta=meta(task.updated_at),
        extension=[cycle_extension(task.cycle)] if task.cycle else None,
        status=APPOINTMENT_STATUS[task.state],
        serviceType=[netcare_concept("care-task-kind", task.kind, task.get_kind_display())],
        description=task.title,
        start=task.appointment_at,
        end=task.appointment_at + dt.timedelta(minutes=minutes),
        minutesDuration=minutes,
        created=task.created_at,
        comment=task.appointment_note or None,
        supportingInformation=[ref("Task", task.external_id)],
        participant=participants,
    )


# --- the course ---------------------------------------------------------------------------------

COURSE_STATUS = {"eligibility_review": "draft", "approved": "active", "active": "active",
                 "completed": "completed", "discontinued": "revoked",
                 "not_approved": "revoked"}


def care_plan(course, *, tasks, cycles, administrations) -> CarePlan:
    """One CarePlan per course: its activities reference every care task (and each booked
    task's Appointment), with the cycle number; the course's cycle count and the cycles given
    are extensions. `tasks`, `cycles` and `administrations` are the course's, loaded."""
    given = {administration.cycle.number: administration for administration in administrations}
    activities = []
    for task in tasks:
        extension = [cycle_extension(task.cycle)] if task.cycle else None
        activity = {"extension": extension,
                    "reference": ref("Task", task.external_id, task.title)}
        administration = given.get(task.cycle) if task.kind == "infusion" else None
        if administration is not None:
            activity["outcomeReference"] = [ref("MedicationAdministration",
                                                administration.external_id)]
        activities.append(activity)
        if task.appointment_at is not None:
            activities.append({"extension": extension,
                               "reference": ref("Appointment", task.external_id, task.title)})
    planned = [cycle for cycle in cycles if cycle.state != "cancelled"]
    return CarePlan(
        id=str(course.external_id),
        meta=meta(course.updated_at),
        extension=[
            state_extension("course-state", course.state),
            {"url": codes.extension_url("cycle-count"), "valueInteger": len(planned)},
            {"url": codes.extension_url("cycles-given"), "valueInteger": len(given)},
        ],
        status=COURSE_STATUS[course.state],
        intent="plan",
        category=[{"text": "PRRT course"}],
        title="PRRT with [177Lu]Lu-DOTA-TATE",
        subject=patient_ref(course.patient),
        period={"start": course.planned_first_dose,
                **({"end": course.ended_at} if course.ended_at else {})},
        created=course.created_at,
        author=organization_ref(course.centre),
        addresses=_reason(course.patient),
        supportingInfo=[ref("ServiceRequest", course.referral.external_id)],
        activity=activities or None,
    )
