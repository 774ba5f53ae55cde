"""Tasks closed by the records that meet them (coordinators.fulfilment), rule by rule.

Each rule has one table: records in the window meet the task (on its first and on its last day),
records just outside do not (the day before the earliest and the day after the latest day), and
a record of the wrong kind never does. The V19 course (tests/coordinators/conftest.py) is planned
on 17 Dec 2024; its tasks' windows are read from the plan, never retyped, so a rule that reads
one day too far either way fails a row. Records are added through the services, with on-commit
handlers not run, so each case asks ``obligation_met`` alone; the closing itself is tested at the
end with the handlers running.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from coordinators import letters
from coordinators.contacts import contact_log_add
from coordinators.fulfilment import fulfil_met_tasks, load_records, obligation_met
from coordinators.models import (
    CareTask,
    CareTaskEvent,
    Reminder,
    ReminderState,
    TaskKind,
    TaskState,
)
from coordinators.plan import plan_sync
from coordinators.selectors import navigator_digest
from coordinators.services import task_complete
from netcare.models import AuditEvent
from patients.models import LabResult, Patient
from patients.services import imaging_add, lab_result_add, lab_result_mark_in_error
from prrt import services as prrt_services
from prrt.bookings import cycle_book
from prrt.injections import ssa_injection_record
from prrt.models import Cycle
from tests.coordinators.conftest import C1
from tests.prrt.builders import NORMAL, approved_course, at, enter_labs

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2024, 12, 17)
PANEL = ["platelets", "hemoglobin", "neutrophils", "creatinine", "bilirubin", "albumin"]


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC), tick=False)


def task_of(course, kind: str, cycle: int = 0, sequence: int = 1) -> CareTask:
    return CareTask.objects.get(course=course, kind=kind, cycle=cycle, sequence=sequence)


def met(task: CareTask):
    return obligation_met(task, load_records(task.course))


def edge(task: CareTask, where: str) -> dt.date:
    return {"earliest": task.earliest, "latest": task.latest,
            "day before earliest": task.earliest - days(1),
            "day after latest": task.latest + days(1)}[where]


@pytest.fixture
def planned(course):
    plan_sync(course=course, today=TODAY)
    return course


def cycle_of(course, number: int) -> Cycle:
    return Cycle.objects.get(course=course, number=number)


def give_cycle_1(course, specialist, navigator, time_machine, *, precautions=False):
    """Labs on 4 Jan, approved, given at 10:00 on 6 Jan with the LAR at 16:00."""
    move(time_machine, C1 - days(2))
    enter_labs(specialist, course.patient, C1 - days(2))
    ready = prrt_services.cycle_refresh(cycle=cycle_of(course, 1), today=C1 - days(2))
    prrt_services.cycle_decide(actor=specialist, cycle=ready, decision="approve",
                               activity_gbq=Decimal("7.4"), today=C1 - days(2))
    move(time_machine, C1, 17)
    return prrt_services.cycle_administer(
        actor=navigator, cycle=cycle_of(course, 1), administered_at=at(C1, 10),
        activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True, lar_injected_at=at(C1, 16),
        precautions_given=precautions)


# --- pre-dose and post-course labs --------------------------------------------------------------


def draw(actor, patient, day: dt.date, analytes, hour: int = 8) -> list[LabResult]:
    return [lab_result_add(actor=actor, patient=patient, analyte=a, value=NORMAL[a][0],
                           unit=NORMAL[a][1], collected_at=at(day, hour),
                           uln="1.2" if a == "bilirubin" else None) for a in analytes]


LAB_TASKS = [pytest.param(TaskKind.PRE_DOSE_LABS, 1, id="pre-dose C1"),
             pytest.param(TaskKind.POST_COURSE_LABS, 0, id="post-course")]

LAB_CASES = [
    pytest.param("complete", "earliest", True, id="in window: first day"),
    pytest.param("complete", "latest", True, id="in window: last day"),
    pytest.param("spread", "earliest", True, id="in window: drawn on both edges"),
    pytest.param("complete", "day before earliest", False, id="just outside: before"),
    pytest.param("complete", "day after latest", False, id="just outside: after"),
    pytest.param("one before", "earliest", False, id="just outside: one value the day before"),
    *[pytest.param(f"missing {a}", "earliest", False, id=f"incomplete: no {a}") for a in PANEL],
    *[pytest.param(f"in error {a}", "earliest", False, id=f"in error: {a}") for a in PANEL],
    pytest.param("corrected", "earliest", True, id="in error, then drawn again"),
    pytest.param("lymphocytes for neutrophils", "earliest", False,
                 id="wrong kind: lymphocytes are not neutrophils"),
    pytest.param("ct", "earliest", False, id="wrong kind: a scan"),
]


@pytest.mark.parametrize(("kind", "cycle"), LAB_TASKS)
@pytest.mark.parametrize(("records", "where", "expected"), LAB_CASES)
def test_labs(planned, specialist, time_machine, kind, cycle, records, where, expected):
    task = task_of(planned, kind, cycle)
    day = edge(task, where)
    patient = planned.patient
    move(time_machine, D(2026, 1, 1))
    if records == "complete":
        draw(specialist, patient, day, PANEL)
    elif records == "spread":
        draw(specialist, patient, task.earliest, PANEL[:3])
        draw(specialist, patient, task.latest, PANEL[3:])
    elif records == "one before":
        draw(specialist, patient, day - days(1), ["platelets"])
        draw(specialist, patient, day, PANEL[1:])
    elif records.startswith("missing "):
        draw(specialist, patient, day, [a for a in PANEL if a != records.split()[1]])
    elif records.startswith("in error "):
        wrong = {lab.analyte: lab for lab in draw(specialist, patient, day, PANEL)}
        lab_result_mark_in_error(actor=specialist, result=wrong[records.split()[2]],
                                 reason="Another patient's sample.")
    elif records == "corrected":
        wrong = {lab.analyte: lab for lab in draw(specialist, patient, day, PANEL)}
        lab_result_mark_in_error(actor=specialist, result=wrong["platelets"],
                                 reason="Clumped sample.")
        draw(specialist, patient, day, ["platelets"], hour=11)
    elif records == "lymphocytes for neutrophils":
        draw(specialist, patient, day, [a for a in PANEL if a != "neutrophils"])
        lab_result_add(actor=specialist, patient=patient, analyte="lymphocytes", value="1.5",
                       unit="10^9/L", collected_at=at(day, 8))
    elif records == "ct":
        imaging_add(actor=specialist, patient=patient, modality="ct", performed_on=day)
    found = met(task)
    assert (found is not None) == expected
    if expected:
        last = (LabResult.objects.filter(patient=patient, entered_in_error=False)
                .order_by("-collected_at", "-id").first())
        assert found.record == f"patients.LabResult:{last.external_id}"
        assert found.done_at == last.collected_at


# --- CT or MRI, and the post-treatment SSTR PET -------------------------------------------------

IMAGING_CASES = [
    pytest.param("ct", "earliest", True, id="in window: CT on the first day"),
    pytest.param("mri", "latest", True, id="in window: MRI on the last day"),
    pytest.param("ct", "day before earliest", False, id="just outside: before"),
    pytest.param("mri", "day after latest", False, id="just outside: after"),
    pytest.param("ga68_dotatate_pet", "earliest", False, id="wrong kind: SSTR PET"),
    pytest.param("sstr_scintigraphy", "latest", False, id="wrong kind: SSTR scintigraphy"),
]


@pytest.mark.parametrize("sequence", [1, 3])
@pytest.mark.parametrize(("modality", "where", "expected"), IMAGING_CASES)
def test_ct_or_mri(planned, specialist, time_machine, sequence, modality, where, expected):
    task = task_of(planned, TaskKind.IMAGING, sequence=sequence)
    move(time_machine, D(2027, 1, 1))
    study = imaging_add(actor=specialist, patient=planned.patient, modality=modality,
                        performed_on=edge(task, where))
    found = met(task)
    assert (found is not None) == expected
    if expected:
        assert found.record == f"patients.ImagingStudy:{study.external_id}"


PET_CASES = [
    pytest.param("ga68_dotatate_pet", "earliest", True, id="in window: from the first day"),
    pytest.param("cu64_dotatate_pet", "latest", True, id="in window: last day"),
    pytest.param("ga68_dotatate_pet", "day after latest", True,
                 id="open-ended: later still meets it"),
    pytest.param("sstr_scintigraphy", "day after latest", True, id="open-ended: scintigraphy"),
    pytest.param("ga68_dotatate_pet", "day before earliest", False,
                 id="just outside: too soon after the last dose"),
    pytest.param("ct", "earliest", False, id="wrong kind: CT"),
    pytest.param("mri", "day after latest", False, id="wrong kind: MRI"),
]


@pytest.mark.parametrize(("modality", "where", "expected"), PET_CASES)
def test_sstr_pet_from_three_months_after_the_last_dose(planned, specialist, time_machine,
                                                        modality, where, expected):
    task = task_of(planned, TaskKind.SSTR_PET)
    assert task.earliest == D(2025, 9, 23)
    assert met(task) is None  # the PET before the course does not count
    move(time_machine, D(2027, 1, 1))
    imaging_add(actor=specialist, patient=planned.patient, modality=modality,
                performed_on=edge(task, where), sstr_positive=True)
    assert (met(task) is not None) == expected


# --- the SSA washout before a dose --------------------------------------------------------------

WASHOUT_CASES = [
    pytest.param("patient record", 28, True, id="in window: recorded 28 days before"),
    pytest.param("patient record", 27, False, id="just outside: recorded 27 days before"),
    pytest.param("octreotide_lar", 28, True, id="in window: LAR 28 days before"),
    pytest.param("octreotide_lar", 27, False, id="just outside: LAR 27 days before"),
    pytest.param("lanreotide", 28, True, id="in window: lanreotide 28 days before"),
    pytest.param("lanreotide", 27, False, id="just outside: lanreotide 27 days before"),
    pytest.param("octreotide_sc", 1, True, id="wrong kind: short-acting the day before"),
    pytest.param("none", None, True, id="none on record"),
]


@pytest.mark.parametrize(("source", "gap", "expected"), WASHOUT_CASES)
def test_ssa_washout_before_cycle_1(planned, navigator, time_machine, source, gap, expected):
    task = task_of(planned, TaskKind.SSA_WASHOUT_CHECK, 1)
    assert task.latest == C1 - days(28)
    patient = planned.patient
    move(time_machine, C1, 8)
    if source == "patient record":
        Patient.objects.filter(pk=patient.pk).update(last_long_acting_ssa_on=C1 - days(gap))
    elif source == "none":
        Patient.objects.filter(pk=patient.pk).update(last_long_acting_ssa_on=None)
    else:
        ssa_injection_record(actor=navigator, patient=patient, agent=source,
                             given_at=at(C1 - days(gap), 10), dose_mg="30")
    found = met(task)
    assert (found is not None) == expected
    if expected:
        assert found.record == f"prrt.TreatmentCourse:{planned.external_id}"


# --- radiation-safety education and check-in ----------------------------------------------------


@pytest.mark.parametrize(("given", "precautions", "cycle", "expected"), [
    pytest.param(True, True, 1, True, id="in window: precautions given at the infusion"),
    pytest.param(True, False, 1, False, id="given without the written precautions"),
    pytest.param(False, False, 1, False, id="not given yet"),
    pytest.param(True, True, 2, False, id="wrong kind: the precautions of another cycle"),
])
def test_radiation_safety_education(planned, specialist, navigator, time_machine, given,
                                    precautions, cycle, expected):
    administration = None
    if given:
        administration = give_cycle_1(planned, specialist, navigator, time_machine,
                                      precautions=precautions)
    found = met(task_of(planned, TaskKind.RADIATION_SAFETY_EDUCATION, cycle))
    assert (found is not None) == expected
    if expected:
        assert found.record == f"prrt.Administration:{administration.external_id}"


CHECKIN_CASES = [
    pytest.param("patient", "earliest", None, True, id="in window: the patient, first day"),
    pytest.param("patient", "latest", None, True, id="in window: the patient, last day"),
    pytest.param("carer", "latest", None, True, id="in window: a carer"),
    pytest.param("patient", "day before earliest", None, False, id="just outside: before"),
    pytest.param("patient", "day after latest", None, False, id="just outside: after"),
    pytest.param("patient", "day after latest", "checkin", True,
                 id="linked to the task, whenever"),
    pytest.param("referring_oncologist", "day after latest", "checkin", True,
                 id="linked to the task, whoever"),
    pytest.param("referring_oncologist", "earliest", None, False,
                 id="wrong kind: the oncologist, in the window, not linked"),
    pytest.param("other", "earliest", None, False, id="wrong kind: someone else"),
    pytest.param("referring_oncologist", "earliest", "labs", False,
                 id="wrong kind: linked to another task"),
]


@pytest.mark.parametrize(("party", "where", "linked", "expected"), CHECKIN_CASES)
def test_radiation_safety_check_in(planned, navigator, time_machine, party, where, linked,
                                   expected):
    task = task_of(planned, TaskKind.RADIATION_SAFETY_CHECKIN, 1)
    assert (task.earliest, task.latest) == (C1 + days(1), C1 + days(7))
    other = task_of(planned, TaskKind.PRE_DOSE_LABS, 2)
    move(time_machine, D(2025, 2, 1))
    entry = contact_log_add(actor=navigator, patient=planned.patient, kind="call", party=party,
                            occurred_at=at(edge(task, where), 11), summary="Precautions: fine.",
                            task={"checkin": task, "labs": other, None: None}[linked])
    found = met(task)
    assert (found is not None) == expected
    if expected:
        assert found.record == f"coordinators.ContactLogEntry:{entry.external_id}"


# --- octreotide LAR maintenance -----------------------------------------------------------------


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


MAINTENANCE_CASES = [
    pytest.param("octreotide_lar", "earliest", 10, True, id="in window: LAR, first day"),
    pytest.param("lanreotide", "latest", 10, True, id="in window: lanreotide, last day"),
    pytest.param("octreotide_lar", "day before earliest", 10, False, id="just outside: before"),
    pytest.param("octreotide_lar", "day after latest", 10, False, id="just outside: after"),
    # July in London is UTC+1: 23:30 UTC is already the next day at the centre.
    pytest.param("octreotide_lar", "day before earliest", 23, True,
                 id="the centre's day: 00:30 on the first day"),
    pytest.param("octreotide_lar", "latest", 23, False,
                 id="the centre's day: 00:30 the day after the last"),
    pytest.param("octreotide_sc", "earliest", 10, False, id="wrong kind: short-acting"),
]


@pytest.mark.parametrize(("agent", "where", "hour", "expected"), MAINTENANCE_CASES)
def test_lar_maintenance(planned, oncologist, time_machine, agent, where, hour, expected):
    task = task_of(planned, TaskKind.LAR_MAINTENANCE, sequence=1)
    assert (task.earliest, task.latest) == (D(2025, 7, 18), D(2025, 7, 24))
    move(time_machine, D(2025, 9, 1))
    injection = ssa_injection_record(actor=oncologist, patient=planned.patient, agent=agent,
                                     given_at=utc(edge(task, where), hour, 30 if hour > 12 else 0),
                                     dose_mg="30")
    found = met(task)
    assert (found is not None) == expected
    if expected:
        assert found.record == f"prrt.SSAInjection:{injection.external_id}"


# --- rebooking a withheld cycle -----------------------------------------------------------------


def withheld_course(course, specialist, navigator, time_machine, capture, *, book_first=False):
    """Cycle 1 given on 6 Jan; cycle 2 (booked on 2 Mar for 5 Mar when `book_first`) withheld
    on 3 Mar at 09:00 UTC for platelets 60."""
    with capture(execute=True):
        plan_sync(course=course, today=TODAY)
        give_cycle_1(course, specialist, navigator, time_machine)
    if book_first:
        move(time_machine, D(2025, 3, 2))
        with capture(execute=True):
            cycle_book(actor=navigator, cycle=cycle_of(course, 2), booked_date=D(2025, 3, 5))
    move(time_machine, D(2025, 3, 3))
    enter_labs(specialist, course.patient, D(2025, 2, 27), platelets=("60", "10^9/L"))
    c2 = prrt_services.cycle_refresh(cycle=cycle_of(course, 2), today=D(2025, 3, 3))
    with capture(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c2, decision="withhold",
                                   categories=["thrombocytopenia"], today=D(2025, 3, 3))
    move(time_machine, D(2025, 3, 3), 11)
    return task_of(course, TaskKind.REBOOK_CYCLE, 2)


@pytest.mark.parametrize(("booking", "expected"), [
    pytest.param("after the withhold", True, id="in window: booked after the withhold"),
    pytest.param("before the withhold", False, id="just outside: booked before the withhold"),
    pytest.param(None, False, id="not booked"),
    pytest.param("cycle 3", False, id="wrong kind: another cycle booked"),
])
def test_rebook_a_withheld_cycle(course, specialist, navigator, time_machine,
                                 django_capture_on_commit_callbacks, booking, expected):
    task = withheld_course(course, specialist, navigator, time_machine,
                           django_capture_on_commit_callbacks,
                           book_first=booking == "before the withhold")
    assert (task.state, task.earliest) == (TaskState.OPEN, D(2025, 3, 17))
    if booking == "after the withhold":
        cycle_book(actor=navigator, cycle=cycle_of(course, 2), booked_date=D(2025, 3, 17),
                   reason="Rebooked at the recheck.")
    elif booking == "cycle 3":
        cycle_book(actor=navigator, cycle=cycle_of(course, 3), booked_date=D(2025, 5, 12))
    found = met(task)
    assert (found is not None) == expected
    if expected:
        assert found.record == f"prrt.Cycle:{cycle_of(course, 2).external_id}"


# --- the referral back with the course letter ---------------------------------------------------


@pytest.mark.parametrize(("record", "expected"), [
    pytest.param("letter sent", True, id="sent"),
    pytest.param("letter drafted", False, id="only drafted"),
    pytest.param(None, False, id="no letter"),
    pytest.param("oncologist called", False, id="wrong kind: a call to the oncologist"),
])
def test_referral_letter_sent(course, specialist, navigator, time_machine, record, expected):
    plan_sync(course=course, today=TODAY)
    give_cycle_1(course, specialist, navigator, time_machine)
    move(time_machine, D(2025, 1, 20))
    prrt_services.course_discontinue(actor=specialist, course=course, reason="Patient's choice.")
    plan_sync(course=course)
    task = task_of(course, TaskKind.REFERRAL_FOLLOW_UP)
    assert task.state == TaskState.OPEN
    if record in ("letter sent", "letter drafted"):
        letters.letter_prepare(actor=navigator, course=course)
    if record == "letter sent":
        letters.letter_send(actor=navigator, course=course)
    if record == "oncologist called":
        contact_log_add(actor=navigator, patient=course.patient, kind="call",
                        party="referring_oncologist", occurred_at=at(D(2025, 1, 20), 8),
                        summary="Told the oncologist the course was stopped.")
    found = met(task)
    assert (found is not None) == expected
    if expected:
        letter = letters.letter_of(course)
        assert found.record == f"coordinators.ReferralLetter:{letter.external_id}"


# --- NETcare closes what the record meets -------------------------------------------------------


def test_a_task_closed_by_netcare_names_the_record_and_no_person(
        planned, specialist, time_machine, django_capture_on_commit_callbacks):
    task = task_of(planned, TaskKind.PRE_DOSE_LABS, 1)
    move(time_machine, C1 - days(2), 12)
    with django_capture_on_commit_callbacks(execute=True):
        draw(specialist, planned.patient, C1 - days(3), PANEL[:3])
        draw(specialist, planned.patient, C1 - days(2), PANEL[3:])
    last = LabResult.objects.filter(patient=planned.patient).order_by("-collected_at",
                                                                      "-id").first()
    task.refresh_from_db()
    assert (task.state, task.done_by, task.fulfilled_by) == (
        TaskState.DONE, None, f"patients.LabResult:{last.external_id}")
    assert task.done_at == last.collected_at
    event = CareTaskEvent.objects.get(task=task, transition="complete")
    assert (event.actor, event.source, event.target) == (None, TaskState.OPEN, TaskState.DONE)
    audit = AuditEvent.objects.get(object_type="coordinators.CareTask",
                                   object_id=str(task.external_id),
                                   action=AuditEvent.Action.TRANSITION)
    assert (audit.actor, audit.by_system) == (None, True)
    assert not Reminder.objects.filter(task=task, state=ReminderState.PENDING).exists()


def test_closing_is_idempotent_and_leaves_a_persons_task_alone(planned, specialist, navigator,
                                                               time_machine):
    move(time_machine, C1 - days(2), 12)
    draw(specialist, planned.patient, C1 - days(2), PANEL)
    labs = task_of(planned, TaskKind.PRE_DOSE_LABS, 1)
    assert fulfil_met_tasks(planned) == 1
    assert fulfil_met_tasks(planned) == 0
    assert CareTaskEvent.objects.filter(task=labs, transition="complete").count() == 1

    imaging = task_of(planned, TaskKind.IMAGING, sequence=1)
    task_complete(actor=navigator, task=imaging, value="CT done at the local hospital.")
    move(time_machine, D(2025, 4, 10))
    imaging_add(actor=specialist, patient=planned.patient, modality="ct",
                performed_on=D(2025, 4, 6))
    assert fulfil_met_tasks(planned) == 0
    imaging.refresh_from_db()
    assert (imaging.done_by, imaging.fulfilled_by) == (navigator, "")


def test_an_obligation_met_when_the_course_opens_is_created_done_never_overdue(
        centre, oncologist, specialist, navigator, before_c1, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                                 first_dose=C1)
    washout = task_of(course, TaskKind.SSA_WASHOUT_CHECK, 1)
    # Its window (7-9 Dec) has passed on the day the course opens (17 Dec): met, not late.
    assert washout.latest < TODAY
    assert (washout.state, washout.done_by, washout.fulfilled_by) == (
        TaskState.DONE, None, f"prrt.TreatmentCourse:{course.external_id}")
    assert "27 Nov 2024" in washout.value
    assert CareTaskEvent.objects.get(task=washout, transition="complete").actor is None
    assert all(t.state == TaskState.DONE for t in
               CareTask.objects.filter(course=course, kind=TaskKind.SSA_WASHOUT_CHECK))
    digest = navigator_digest(navigator, today=TODAY)
    assert washout not in digest.overdue
    assert not Reminder.objects.filter(task=washout, state=ReminderState.PENDING).exists()


def test_a_washout_not_met_stays_open_until_the_dose_moves_far_enough(
        course, navigator, time_machine, django_capture_on_commit_callbacks):
    # The last long-acting injection was 27 days before cycle 1: the task stays open (late,
    # its window has passed) until cycle 1 is booked a day later, 28 days after the injection.
    Patient.objects.filter(pk=course.patient_id).update(last_long_acting_ssa_on=C1 - days(27))
    plan_sync(course=course, today=TODAY)
    washout = task_of(course, TaskKind.SSA_WASHOUT_CHECK, 1)
    assert washout.state == TaskState.OPEN
    assert washout in navigator_digest(navigator, today=TODAY).overdue
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=cycle_of(course, 1), booked_date=C1 + days(1))
    washout.refresh_from_db()
    assert (washout.latest, washout.state, washout.done_by) == (
        C1 - days(27), TaskState.DONE, None)
