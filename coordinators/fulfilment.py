"""Tasks closed by what fulfils them: the record shows an obligation met, NETcare closes its task.

:func:`obligation_met` says, for one open task and the course's records, which record meets it
(or None); :func:`fulfil_met_tasks` closes every such task as NETcare's own act, with a link to
the record (``CareTask.fulfilled_by``). A navigator can still close any task by hand.

What meets what (dates are the centre's local days, windows the task's earliest..latest):
- pre-dose and post-course labs: a complete decision panel (platelets, haemoglobin, neutrophils,
  creatinine, bilirubin, albumin), every value collected in the window, none entered in error;
- infusion: the administration of that cycle; octreotide LAR: the LAR time on it;
- CT/MRI: a CT or MRI study performed in the window; post-treatment SSTR PET: an SSTR study on or
  after the window opens;
- SSA washout before a cycle: the last long-acting SSA injection at least 28 days (the block
  limit) before the planned dose, or none on record;
- radiation-safety education: the precautions given in writing at the administration (the
  printed or emailed sheet closes the task when it is given, see coordinators.handlers);
- radiation-safety check-in: a contact-log entry with the patient or their carer in the window,
  or one recorded for the task;
- octreotide LAR maintenance: a long-acting SSA injection given in the window;
- rebooking a withheld cycle: a booking made after the decision to withhold;
- confirmatory labs the day before a dose: a complete decision panel in their window;
- ordering the dose: the cycle's live dose order placed with the supplier (ordered, confirmed,
  received or administered);
- the referral back: the course letter sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from coordinators.models import CareTask, ContactLogEntry, ReferralLetter, TaskKind, TaskState
from coordinators.services import task_fulfil
from netcare.clock import centre_zone, local_date
from patients.models import ImagingStudy, LabResult
from prrt import clinical
from prrt.models import (
    Administration,
    Cycle,
    DoseOrder,
    DoseOrderState,
    SSAInjection,
    TreatmentCourse,
)
from prrt.schedule import booked_since_withhold, last_withhold

PLACED_OR_AFTER = (DoseOrderState.ORDERED, DoseOrderState.CONFIRMED, DoseOrderState.RECEIVED,
                   DoseOrderState.ADMINISTERED)


@dataclass(frozen=True)
class Met:
    """The record that meets an obligation."""

    done_at: dt.datetime
    value: str
    record: str  # "app.Model:<external id>"


@dataclass
class CourseRecords:
    """What the fulfilment rules read about one course, loaded in a fixed number of queries."""

    course: TreatmentCourse
    labs: list[LabResult] = field(default_factory=list)
    imaging: list[ImagingStudy] = field(default_factory=list)
    injections: list[SSAInjection] = field(default_factory=list)
    administrations: dict[int, Administration] = field(default_factory=dict)
    contacts: list[ContactLogEntry] = field(default_factory=list)
    cycles: dict[int, Cycle] = field(default_factory=dict)
    letter: ReferralLetter | None = None
    orders: list[DoseOrder] = field(default_factory=list)
    last_long_acting_ssa: dt.date | None = None
    washout_days: int = 28

    def day(self, moment: dt.datetime) -> dt.date:
        return local_date(moment, self.course.centre)


def load_records(course: TreatmentCourse) -> CourseRecords:
    patient_id = course.patient_id
    config = clinical.rules_config(course.centre)
    return CourseRecords(
        course=course,
        labs=list(LabResult.objects.filter(patient_id=patient_id, entered_in_error=False,
                                           analyte__in=clinical.REQUIRED_PRE_DOSE)
                  .order_by("collected_at", "id")),
        imaging=list(ImagingStudy.objects.filter(patient_id=patient_id)
                     .order_by("performed_on", "id")),
        injections=list(SSAInjection.objects.filter(patient_id=patient_id,
                                                    agent__in=SSAInjection.LONG_ACTING)
                        .order_by("given_at", "id")),
        administrations={a.cycle.number: a for a in Administration.objects.filter(
            cycle__course=course).select_related("cycle")},
        contacts=list(ContactLogEntry.objects.filter(patient_id=patient_id)
                      .filter(Q(party__in=[ContactLogEntry.Party.PATIENT,
                                           ContactLogEntry.Party.CARER])
                              | Q(task__course=course))
                      .order_by("occurred_at", "id")),
        cycles={c.number: c for c in course.cycles.prefetch_related("decisions")},
        letter=ReferralLetter.objects.filter(course=course).first(),
        orders=list(DoseOrder.objects.filter(cycle__course=course, ordered_at__isnull=False,
                                             state__in=PLACED_OR_AFTER)
                    .select_related("cycle")),
        last_long_acting_ssa=clinical.last_long_acting_ssa(course),
        washout_days=config.ssa_washout_block_days,
    )


def _noon(day: dt.date, records: CourseRecords) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=centre_zone(records.course.centre))


def _in(day: dt.date, task: CareTask) -> bool:
    return task.earliest <= day <= task.latest


def _labs(task: CareTask, records: CourseRecords) -> Met | None:
    found: dict[str, LabResult] = {}
    for lab in records.labs:
        if _in(records.day(lab.collected_at), task):
            found[lab.analyte] = lab
    if any(analyte not in found for analyte in clinical.REQUIRED_PRE_DOSE):
        return None
    last = max(found.values(), key=lambda lab: (lab.collected_at, lab.pk))
    return Met(last.collected_at, f"Complete panel collected by "
               f"{records.day(last.collected_at):%d %b %Y}.",
               f"patients.LabResult:{last.external_id}")


def _infusion(task: CareTask, records: CourseRecords) -> Met | None:
    given = records.administrations.get(task.cycle)
    if given is None:
        return None
    return Met(given.administered_at, f"{given.activity_gbq} GBq",
               f"prrt.Administration:{given.external_id}")


def _lar(task: CareTask, records: CourseRecords) -> Met | None:
    given = records.administrations.get(task.cycle)
    if given is None or given.lar_injected_at is None:
        return None
    return Met(given.lar_injected_at, "Octreotide LAR 30 mg",
               f"prrt.Administration:{given.external_id}")


def _study(modalities: Sequence[str], *, open_ended: bool) -> Callable[..., Met | None]:
    def met(task: CareTask, records: CourseRecords) -> Met | None:
        for study in records.imaging:
            if study.modality not in modalities:
                continue
            day = study.performed_on
            if (task.earliest <= day) if open_ended else _in(day, task):
                return Met(_noon(day, records),
                           f"{study.get_modality_display()} on {day:%d %b %Y}.",
                           f"patients.ImagingStudy:{study.external_id}")
        return None
    return met


def _washout(task: CareTask, records: CourseRecords) -> Met | None:
    last = records.last_long_acting_ssa
    if last is not None and last > task.latest:
        return None
    value = ("No long-acting SSA on record." if last is None else
             f"Last long-acting SSA on {last:%d %b %Y}: at least {records.washout_days} days "
             "before the dose.")
    return Met(timezone.now(), value, f"prrt.TreatmentCourse:{records.course.external_id}")


def _education(task: CareTask, records: CourseRecords) -> Met | None:
    given = records.administrations.get(task.cycle)
    if given is None or not given.precautions_given:
        return None
    return Met(given.administered_at, "Precautions given in writing at the infusion.",
               f"prrt.Administration:{given.external_id}")


def _checkin(task: CareTask, records: CourseRecords) -> Met | None:
    for entry in records.contacts:
        if entry.task_id == task.pk or (
                entry.party in (ContactLogEntry.Party.PATIENT, ContactLogEntry.Party.CARER)
                and _in(records.day(entry.occurred_at), task)):
            return Met(entry.occurred_at, f"{entry.get_kind_display()} with the "
                       f"{entry.get_party_display().lower()}.",
                       f"coordinators.ContactLogEntry:{entry.external_id}")
    return None


def _maintenance(task: CareTask, records: CourseRecords) -> Met | None:
    for injection in records.injections:
        if _in(records.day(injection.given_at), task):
            return Met(injection.given_at, f"{injection.get_agent_display()} given.",
                       f"prrt.SSAInjection:{injection.external_id}")
    return None


def _rebook(task: CareTask, records: CourseRecords) -> Met | None:
    cycle = records.cycles.get(task.cycle)
    if cycle is None:
        return None
    if not booked_since_withhold(cycle, last_withhold(cycle)):
        return None
    return Met(cycle.booked_at, f"Booked for {cycle.booked_date:%d %b %Y}.",
               f"prrt.Cycle:{cycle.external_id}")


def _order(task: CareTask, records: CourseRecords) -> Met | None:
    placed = [o for o in records.orders if o.cycle.number == task.cycle]
    if not placed:
        return None
    order = max(placed, key=lambda o: (o.ordered_at, o.pk))
    return Met(order.ordered_at, f"Ordered from the supplier (order {order.order_number}).",
               f"prrt.DoseOrder:{order.external_id}")


def _letter(task: CareTask, records: CourseRecords) -> Met | None:
    letter = records.letter
    if letter is None or letter.state != ReferralLetter.State.SENT:
        return None
    return Met(letter.sent_at, "Course letter sent.",
               f"coordinators.ReferralLetter:{letter.external_id}")


RULES: dict[str, Callable[[CareTask, CourseRecords], Met | None]] = {
    TaskKind.PRE_DOSE_LABS: _labs,
    TaskKind.CONFIRMATORY_LABS: _labs,
    TaskKind.DOSE_ORDER: _order,
    TaskKind.POST_COURSE_LABS: _labs,
    TaskKind.INFUSION: _infusion,
    TaskKind.LAR_INJECTION: _lar,
    TaskKind.IMAGING: _study((ImagingStudy.Modality.CT, ImagingStudy.Modality.MRI),
                             open_ended=False),
    TaskKind.SSTR_PET: _study(ImagingStudy.SSTR_MODALITIES, open_ended=True),
    TaskKind.SSA_WASHOUT_CHECK: _washout,
    TaskKind.RADIATION_SAFETY_EDUCATION: _education,
    TaskKind.RADIATION_SAFETY_CHECKIN: _checkin,
    TaskKind.LAR_MAINTENANCE: _maintenance,
    TaskKind.REBOOK_CYCLE: _rebook,
    TaskKind.REFERRAL_FOLLOW_UP: _letter,
}


def obligation_met(task: CareTask, records: CourseRecords) -> Met | None:
    """The record that meets `task`'s obligation, or None."""
    rule = RULES.get(task.kind)
    return None if rule is None else rule(task, records)


def fulfil_met_tasks(course: TreatmentCourse) -> int:
    """Close, as NETcare, every open task of the course whose obligation the record shows met;
    returns how many were closed."""
    tasks = list(CareTask.objects.filter(course=course, state=TaskState.OPEN))
    if not tasks:
        return 0
    records = load_records(course)
    closed = 0
    for task in tasks:
        met = obligation_met(task, records)
        if met is None:
            continue
        task_fulfil(task=task, done_at=min(met.done_at, timezone.now()), value=met.value,
                    reason="Met by the record.", record=met.record)
        closed += 1
    return closed
