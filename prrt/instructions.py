"""The written radiation-safety instructions given to a patient after each infusion.

The precautions are the centre's precaution sheet (prrt.precautions: its own items, each for its
own number of days, or the PRRT best-practice article's Table 2 for the centre's precaution
window); the dates are this patient's: from the infusion day through the last day of each
precaution, grouped by that day when they differ.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

import rules
from netcare import audit, events
from netcare.clock import local_date
from netcare.models import Role
from prrt import clinical
from prrt.models import Cycle
from prrt.precautions import TABLE_2, SheetGroup, SheetItem, precaution_sheet, sheet_groups
from prrt.schedule import course_plan_events

PRECAUTIONS = TABLE_2  # the default sheet: the article's Table 2 (prrt.precautions)


@dataclass(frozen=True)
class Instructions:
    """`until` and `days` are the longest precaution's; `groups` give each precaution its own
    end date; `no_bloods_until` is the last day of the plan's no-routine-bloods window."""

    cycle: Cycle
    infusion_day: dt.date
    until: dt.date
    days: int
    precautions: tuple[str, ...]
    appointments: list[rules.PlanEvent]
    sheet: tuple[SheetItem, ...] = ()
    groups: tuple[SheetGroup, ...] = ()
    no_bloods_until: dt.date | None = None

    @property
    def grouped(self) -> bool:
        """The sheet names several end dates, or whom a precaution protects."""
        return len(self.groups) > 1 or any(group.audience for group in self.groups)

    @property
    def patient(self):
        return self.cycle.course.patient

    @property
    def centre(self):
        return self.cycle.course.centre


APPOINTMENT_KINDS = {rules.EventKind.PRE_DOSE_LABS, rules.EventKind.INFUSION,
                     rules.EventKind.LAR_INJECTION, rules.EventKind.IMAGING,
                     rules.EventKind.POST_COURSE_LABS, rules.EventKind.LAR_MAINTENANCE,
                     rules.EventKind.SSTR_PET}


def instructions_for(cycle: Cycle, *, today: dt.date) -> Instructions:
    """The instructions for the infusion of `cycle` (given, or approved and booked)."""
    course = cycle.course
    config = clinical.rules_config(course.centre)
    administration = cycle.administration if hasattr(cycle, "administration") else None
    day = (local_date(administration.administered_at, course.centre)
           if administration else cycle.planned_date)
    plan = course_plan_events(course)  # the same plan as the care tasks and every page
    upcoming = [event for event in plan if event.kind in APPOINTMENT_KINDS and event.due > day]
    sheet = tuple(precaution_sheet(course.centre))  # the centre's own, or Table 2
    days = max(item.days for item in sheet)
    return Instructions(cycle=cycle, infusion_day=day, until=day + dt.timedelta(days=days),
                        days=days, precautions=tuple(item.text for item in sheet),
                        appointments=upcoming[:6], sheet=sheet,
                        groups=tuple(sheet_groups(sheet, day)),
                        no_bloods_until=day + dt.timedelta(days=config.precaution_days))


def instructions_html(instructions: Instructions) -> str:
    return render_to_string("prrt/instructions.html", {"i": instructions})


def instructions_pdf(instructions: Instructions) -> bytes:
    # WeasyPrint loads Pango and fonts: only when a PDF is asked for, not at every start.
    from weasyprint import HTML

    return HTML(string=instructions_html(instructions)).write_pdf()


def instructions_email(*, actor, cycle: Cycle, today: dt.date) -> bool:
    """Email the instructions to the patient, if they agreed to it and gave an address.
    Returns whether it was sent; the sending is audited as an export and closes the cycle's
    radiation-safety education task."""
    patient = cycle.course.patient
    if not (patient.reminder_consent and patient.email):
        return False
    instructions = instructions_for(cycle, today=today)
    context = {"i": instructions}
    message = EmailMultiAlternatives(
        subject=render_to_string("emails/radiation_safety_subject.txt", context).strip(),
        body=render_to_string("emails/radiation_safety.txt", context),
        to=[patient.email])
    message.attach_alternative(instructions_html(instructions), "text/html")
    message.attach(f"radiation-safety-cycle-{cycle.number}.pdf", instructions_pdf(instructions),
                   "application/pdf")
    message.send()
    instructions_given(actor=actor, cycle=cycle, how="emailed")
    return True


def instructions_given(*, actor, cycle: Cycle, how: str) -> None:
    """The written precautions left the centre ("printed", "emailed"): audited as an export of
    the patient's record; when the centre's team gave them, the education task is met."""
    audit.record_export(actor=actor, obj=cycle.course.patient,
                        note=f"radiation-safety instructions {how}, cycle {cycle.number}")
    if actor.role in (Role.NAVIGATOR, Role.SPECIALIST):
        events.publish(events.InstructionsGiven(course_id=cycle.course_id, cycle_id=cycle.pk,
                                                how=how))
