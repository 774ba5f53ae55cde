"""The patient's journey as a picture: a server-rendered SVG timeline of the course.

Rows: infusions (given or planned), precaution windows, SSA injections, imaging and labs on one
date axis, with today marked and anything overdue drawn in red with the word "overdue", so colour
is never the only signal. Built from records and the rules' plan; no database writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import rules
from netcare.clock import local_date
from netcare.jinja2 import date as date_format  # the date filter's words, days remembered
from patients.models import ImagingStudy, LabResult
from prrt import clinical
from prrt.models import CycleState, SSAInjection, TreatmentCourse
from prrt.schedule import course_plan_events

WIDTH = 960
LEFT = 120
RIGHT = 20
ROW_HEIGHT = 34
TOP = 34
HORIZON = dt.timedelta(days=180)  # planned follow-up drawn this far ahead
# The row a care task of each kind is drawn on (others: the infusions row).
TASK_ROWS = {"radiation_safety_education": 1, "radiation_safety_checkin": 1,
             "ssa_washout_check": 2, "lar_injection": 2, "lar_maintenance": 2, "imaging": 3,
             "sstr_pet": 3, "pre_dose_labs": 4, "post_course_labs": 4}
ROWS = ("Infusions", "Precautions", "SSA / LAR", "Imaging", "Labs")


@dataclass
class Mark:
    row: int
    start: dt.date
    end: dt.date | None = None  # a bar when set
    label: str = ""
    state: str = "done"  # done | planned | overdue
    # Where and how it is drawn (see _layout): its place, the text of its tooltip, and for a
    # mark (not a bar) its radius and the words written above it (None: none).
    x: float = 0
    width: float = 0
    y: float = 0
    title: str = ""
    radius: int = 5
    caption: str | None = None
    caption_y: float = 0


@dataclass
class Journey:
    start: dt.date
    end: dt.date
    today: dt.date
    marks: list[Mark] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    today_x: float | None = None
    width: int = WIDTH
    height: int = TOP + ROW_HEIGHT * len(ROWS) + 30
    rows: list[tuple[str, float]] = field(default_factory=list)
    # The picture's dates as written (_layout), for its description and caption.
    start_text: str = ""
    end_text: str = ""
    today_text: str = ""

    @property
    def overdue(self) -> list[Mark]:
        return [m for m in self.marks if m.state == "overdue"]


@dataclass(frozen=True)
class JourneyRecord:
    """What the journey reads: the course's cycles (decisions prefetched, administration
    joined), the patient's SSA injections and imaging studies, and the collection times of
    their lab results not in error."""

    cycles: list = field(default_factory=list)
    injections: list = field(default_factory=list)
    imaging: list = field(default_factory=list)
    lab_times: list[dt.datetime] = field(default_factory=list)


def journey_for(course: TreatmentCourse, *, today: dt.date,
                overdue_tasks: list[tuple[str, str, dt.date]] | None = None,
                record: JourneyRecord | None = None) -> Journey:
    """The journey of `course`. `overdue_tasks` are (kind, label, due) of open overdue care
    tasks. `record`: what the caller has already read of the course and the patient (a page
    that shows them), so nothing is read twice; else it is read here."""
    centre = course.centre
    config = clinical.rules_config(centre)
    if record is None:
        record = JourneyRecord(
            cycles=list(course.cycles.order_by("number").prefetch_related("decisions")
                        .select_related("administration")),
            injections=list(SSAInjection.objects.filter(patient_id=course.patient_id)),
            imaging=list(ImagingStudy.objects.filter(patient_id=course.patient_id)),
            lab_times=list(LabResult.objects.filter(
                patient_id=course.patient_id, entered_in_error=False)
                .values_list("collected_at", flat=True)))
    history = clinical.course_history(course, record.cycles)
    # The one plan: doses given, bookings, withholds.
    plan = course_plan_events(course, cycles=record.cycles, history=history)
    marks: list[Mark] = []
    given = {dose.cycle for dose in history.doses}
    for dose in history.doses:
        marks.append(Mark(0, dose.date, label=f"C{dose.cycle}"))
        marks.append(Mark(1, dose.date, dose.date + dt.timedelta(days=config.precaution_days),
                          label=f"{config.precaution_days} days"))
    for cycle in record.cycles:
        if cycle.number in given or cycle.state == CycleState.CANCELLED:
            continue
        state = "overdue" if cycle.planned_date < today else "planned"
        marks.append(Mark(0, cycle.planned_date, label=f"C{cycle.number}", state=state))
    marks += [Mark(2, local_date(a.lar_injected_at, centre), label="LAR")
              for a in history.administrations if a.lar_injected_at]
    marks += [Mark(2, local_date(injection.given_at, centre), label="SSA")
              for injection in record.injections]
    marks += [Mark(3, study.performed_on, label=study.get_modality_display())
              for study in record.imaging]
    lab_days = sorted({local_date(moment, centre) for moment in record.lab_times})
    marks += [Mark(4, day) for day in lab_days]
    row_of = {rules.EventKind.LAR_MAINTENANCE: 2, rules.EventKind.IMAGING: 3,
              rules.EventKind.SSTR_PET: 3, rules.EventKind.POST_COURSE_LABS: 4}
    for event in plan:
        row = row_of.get(event.kind)
        if row is not None and today <= event.due <= today + HORIZON:
            label = {2: "LAR", 3: "CT/MRI" if event.kind == "imaging" else "SSTR PET",
                     4: "labs"}[row]
            marks.append(Mark(row, event.due, label=label, state="planned"))
    for kind, label, due in overdue_tasks or []:
        marks.append(Mark(TASK_ROWS.get(kind, 0), due, label=label, state="overdue"))
    days = [m.start for m in marks] + [m.end for m in marks if m.end] + [today]
    start = min(days) - dt.timedelta(days=7)
    end = max(days) + dt.timedelta(days=14)
    journey = Journey(start=start, end=end, today=today, marks=marks)
    _layout(journey)
    return journey


def _layout(journey: Journey) -> None:
    span = max((journey.end - journey.start).days, 1)
    usable = journey.width - LEFT - RIGHT

    def x_of(day: dt.date) -> float:
        return round(LEFT + usable * (day - journey.start).days / span, 1)

    journey.rows = [(name, TOP + ROW_HEIGHT * index + ROW_HEIGHT // 2)
                    for index, name in enumerate(ROWS)]
    for mark in journey.marks:
        mark.x = x_of(mark.start)
        mark.width = max(round(x_of(mark.end) - mark.x, 1), 4) if mark.end else 0
        mark.y = journey.rows[mark.row][1]
        _words(mark)
    journey.today_x = x_of(journey.today)
    journey.start_text, journey.end_text, journey.today_text = (
        date_format(day, "j M Y") for day in (journey.start, journey.end, journey.today))
    month = dt.date(journey.start.year, journey.start.month, 1)
    step = 1 if span <= 400 else 3
    while month <= journey.end:
        if month >= journey.start:
            journey.ticks.append((x_of(month), month.strftime("%b %Y")))
        month = rules.add_months(month, step)


def _words(mark: Mark) -> None:
    """A mark's tooltip, and its radius and caption: a bar is a precaution window; an
    infusion is drawn larger with its label above it, and anything overdue says so."""
    if mark.end:
        mark.title = (f"Precautions {date_format(mark.start, 'j M')}–"
                      f"{date_format(mark.end, 'j M Y')}")
        return
    overdue = mark.state == "overdue"
    mark.title = f"{mark.label or 'Lab draw'} {date_format(mark.start, 'j M Y')}" + (
        " (overdue)" if overdue else " (planned)" if mark.state == "planned" else "")
    mark.radius = 7 if mark.row == 0 else 5
    if mark.row == 0 or overdue:
        mark.caption = (mark.label if mark.row == 0 else "") + (" overdue" if overdue else "")
        mark.caption_y = mark.y - 11
