"""Synthetic demo PRRT courses at every stage, built through the real services so the demo shows
exactly what NETcare would have recorded. Names and numbers are invented."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.utils import timezone

from coordinators.letters import letter_prepare, letter_send
from netcare.models import User
from patients.models import Patient
from patients.services import imaging_add, lab_result_add
from prrt import capacity, orders, services
from prrt.bookings import cycle_book
from prrt.models import Cycle, InfusionSlotBooking, TreatmentCourse
from referrals.services import referral_transition

NORMAL = {"platelets": ("210", "10^9/L"), "hemoglobin": ("128", "g/L"),
          "neutrophils": ("3.4", "10^9/L"), "creatinine": ("0.85", "mg/dL"),
          "bilirubin": ("0.5", "mg/dL"), "albumin": ("42", "g/L")}


class _Runner:
    def __init__(self, course: TreatmentCourse, specialist: User, navigator: User) -> None:
        self.course = course
        self.specialist = specialist
        self.navigator = navigator
        self.tz = zoneinfo.ZoneInfo(course.centre.time_zone)

    def at(self, day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=self.tz)

    def labs(self, day: dt.date, **overrides) -> None:
        for analyte, (value, unit) in {**NORMAL, **overrides}.items():
            lab_result_add(actor=self.navigator, patient=self.course.patient, analyte=analyte,
                           value=value, unit=unit, collected_at=self.at(day, 8),
                           uln="1.2" if analyte == "bilirubin" else None)

    def cycle(self, number: int) -> Cycle:
        return self.course.cycles.get(number=number)

    def decide(self, number: int, day: dt.date, decision: str, activity: str | None = None,
               categories: list[str] | None = None) -> None:
        cycle = services.cycle_refresh(cycle=self.cycle(number), today=day)
        services.cycle_decide(actor=self.specialist, cycle=cycle, decision=decision,
                              activity_gbq=Decimal(activity) if activity else None,
                              categories=categories, today=day)

    def give(self, number: int, day: dt.date, activity: str, **reaction) -> None:
        services.cycle_administer(
            actor=self.navigator, cycle=self.cycle(number), administered_at=self.at(day, 10),
            activity_gbq=Decimal(activity), no_short_acting_ssa_24h=True,
            lar_injected_at=self.at(day, 16), **reaction)
        self.course.refresh_from_db()
        if self.course.state in ("approved", "active"):
            services.course_refresh(course=self.course, today=day + dt.timedelta(days=8))

    def full_cycle(self, number: int, activity: str = "7.4") -> dt.date:
        day = self.cycle(number).planned_date
        self.labs(day - dt.timedelta(days=2))
        self.decide(number, day - dt.timedelta(days=1), "approve", activity)
        self.give(number, day, activity)
        return day


def _start(patient: Patient, first_dose: dt.date, specialist: User, navigator: User,
           *, today: dt.date, approve: bool = True) -> _Runner:
    # The demo backdates some courses: their last SSA injection came five weeks before dose 1.
    # Pregnancy testing is recorded as not applicable (post-menopausal), as the centre would.
    Patient.objects.filter(pk=patient.pk).update(
        last_long_acting_ssa_on=first_dose - dt.timedelta(days=35),
        pregnancy="not_applicable",
        pregnancy_stated_by="Referring oncologist: post-menopausal (synthetic demo)",
        pregnancy_recorded_by=navigator, pregnancy_recorded_at=timezone.now())
    patient.refresh_from_db()
    referral = patient.referrals.get()
    course = services.course_open(actor=specialist, referral=referral,
                                  planned_first_dose=first_dose)
    if approve:
        services.course_decide_eligibility(
            actor=specialist, course=course, approve=True,
            reason="Discussed at the NET MDT: eligible for PRRT.",
            today=today)
        course.refresh_from_db()
    return _Runner(course, specialist, navigator)


def seed_demo_courses(today: dt.date) -> list[str]:
    """Courses for the demo patients whose referral reached the centre's treatment stage."""
    specialist = User.objects.get(username="specialist")
    navigator = User.objects.get(username="navigator")
    patients = {p.family_name: p for p in Patient.objects.filter(
        family_name__in=["Glen", "Hartfield", "Inchbury", "Jessop", "Lockwood"])}
    created = []
    todo = [name for name, p in patients.items() if not p.courses.exists()]
    if "Glen" in todo:  # consult booked: the course waits for the eligibility review
        _start(patients["Glen"], today + dt.timedelta(days=21), specialist, navigator,
               today=today, approve=False)
        created.append("eligibility review")
    if "Hartfield" in todo:  # in treatment: cycle 1 given, cycle 2 withheld for platelets
        run = _start(patients["Hartfield"], today - dt.timedelta(days=58), specialist, navigator,
                     today=today)
        run.full_cycle(1)
        due = run.cycle(2).planned_date
        run.labs(due - dt.timedelta(days=3), platelets=("68", "10^9/L"))
        run.decide(2, due - dt.timedelta(days=2), "withhold", categories=["thrombocytopenia"])
        created.append("withheld cycle")
    if "Inchbury" in todo:  # completed: cycle 2 delayed and reduced, re-escalated after
        run = _start(patients["Inchbury"], today - dt.timedelta(days=260), specialist, navigator,
                     today=today)
        run.full_cycle(1)
        due = run.cycle(2).planned_date
        run.labs(due - dt.timedelta(days=2), platelets=("71", "10^9/L"))
        run.decide(2, due - dt.timedelta(days=1), "withhold", categories=["thrombocytopenia"])
        later = _infusion_weekday(due + dt.timedelta(days=14))
        # The navigator rebooked cycle 2 two weeks later. The demo's history lies in the past,
        # where the booking service (rightly) books nothing: the booking is written as it was.
        Cycle.objects.filter(pk=run.cycle(2).pk).update(booked_date=later,
                                                       booked_at=timezone.now())
        _occupy_slot(run.cycle(2), later)
        run.labs(later - dt.timedelta(days=1), platelets=("104", "10^9/L"))
        run.decide(2, later, "approve", "3.7")
        run.give(2, later, "3.7")
        run.full_cycle(3)
        run.full_cycle(4)
        run.course.refresh_from_db()
        letter_prepare(actor=navigator, course=run.course)
        letter_send(actor=specialist, course=run.course)
        created.append("completed course with a reduced dose, referred back")
    if "Jessop" in todo:  # discontinued: grade 3 hypersensitivity during cycle 2
        run = _start(patients["Jessop"], today - dt.timedelta(days=120), specialist, navigator,
                     today=today)
        run.full_cycle(1)
        day = run.cycle(2).planned_date
        run.labs(day - dt.timedelta(days=2))
        run.decide(2, day - dt.timedelta(days=1), "approve", "7.4")
        run.give(2, day, "7.4", infusion_reaction_grade=3, reaction_is_hypersensitivity=True)
        run.course.refresh_from_db()
        letter_prepare(actor=navigator, course=run.course)
        letter_send(actor=specialist, course=run.course)
        referral = patients["Jessop"].referrals.get()
        referral_transition(referral=referral, name="close",
                            actor=referral.referring_oncologist)
        created.append("discontinued course")
    if "Lockwood" in todo:  # reviewed, accepted, consult done: cycle 1 awaits the specialist
        patient = patients["Lockwood"]
        referral = patient.referrals.get()
        for name, actor in (("start_review", specialist), ("accept", specialist)):
            referral = referral_transition(referral=referral, name=name, actor=actor)
        referral_transition(referral=referral, name="book_consult", actor=navigator,
                            consult_at=_at(today - dt.timedelta(days=10)))
        imaging_add(actor=specialist, patient=patient, modality="ga68_dotatate_pet",
                    performed_on=today - dt.timedelta(days=12), sstr_positive=True,
                    uptake_score=4)
        run = _start(patient, today + dt.timedelta(days=3), specialist, navigator, today=today)
        run.labs(today - dt.timedelta(days=1))
        # The navigator booked its infusion into the first free slot from the planned day.
        start = today + dt.timedelta(days=3)
        slot = capacity.free_slots(run.course.centre, start, start + dt.timedelta(days=7))[0]
        cycle_book(actor=navigator, cycle=run.cycle(1), booked_date=slot.day, slot=slot.key)
        # Its dose was ordered from the supplier, who confirmed it.
        order = orders.live_order(run.cycle(1))
        order = orders.dose_order_place(actor=navigator, order=order, order_number="SYN-24017")
        orders.dose_order_confirm(actor=navigator, order=order)
        services.course_refresh(course=run.course, today=today)
        created.append("cycle ready for approval")
    return created


def _infusion_weekday(day: dt.date) -> dt.date:
    """`day`, or the next day the demo's infusion rooms work (Monday to Thursday)."""
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 if day.weekday() > 3 else 0)


def _occupy_slot(cycle: Cycle, day: dt.date) -> None:
    """A backdated booking takes the first free slot of its day, as it would have."""
    slot = capacity.free_slots(cycle.course.centre, day, day)[0]
    InfusionSlotBooking.objects.create(room=slot.room, day=day, slot=slot.index, cycle=cycle)
    Cycle.objects.filter(pk=cycle.pk).update(booked_time=slot.start, booked_place=slot.room.name)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)


def settle_demo_tasks(today: dt.date) -> int:
    """Mark the demo's past care tasks done, as a navigator would have, leaving the last four
    weeks open so the caseload shows what is overdue. Runs after the seeding transaction has
    committed (the plan becomes tasks on commit)."""
    from coordinators.models import CareTask, TaskState
    from coordinators.services import task_complete

    navigator = User.objects.get(username="navigator")
    settled = 0
    tasks = (CareTask.objects.filter(state=TaskState.OPEN, due__lt=today - dt.timedelta(days=28),
                                     patient__centre=navigator.centre)
             .select_related("course__centre", "patient"))
    for task in tasks:
        done_at = dt.datetime.combine(task.due, dt.time(12, 0), tzinfo=dt.UTC)
        task_complete(actor=navigator, task=task, done_at=done_at)
        settled += 1
    return settled
