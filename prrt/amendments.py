"""Correcting an administration record after the infusion day.

What was recorded is never overwritten silently: each amendment keeps the values before and
after, who made it, when and why (``AdministrationAmendment``), and the audit trail has the same.
The later cycles, the plan and its tasks follow a corrected infusion or LAR time through the
``AdministrationAmended`` event.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.db import transaction

from netcare import access, audit, events
from netcare.clock import local_date, past_moment_error
from netcare.models import Role
from netcare.numbers import plain
from netcare.workflow import TransitionForbidden, TransitionInvalid
from patients.services import adverse_event_report
from prrt.models import (
    AMENDABLE_FIELDS,
    Administration,
    AdministrationAmendment,
    CourseState,
)
from prrt.schedule import cycle_dates_sync
from prrt.services import course_discontinue


def _checked(values: dict, approved: Decimal | None, changed: set[str]) -> list[str]:
    """Check the amended values (a TransitionInvalid naming the field) as on the infusion day,
    and return the warnings they carry: the LAR outside 4-24 h after the infusion, another
    activity than approved. A time is checked when it is corrected."""
    for name, what in (("administered_at", "of the infusion"),
                       ("lar_injected_at", "of the LAR injection")):
        if name not in changed or values[name] is None:
            continue
        error = past_moment_error(values[name], what=what)
        if error:
            raise TransitionInvalid(error, field=name)
    activity = values["activity_gbq"]
    if not Decimal("0.1") <= activity <= Decimal("8"):
        raise TransitionInvalid("The administered activity must be 0.1-8 GBq.",
                                field="activity_gbq")
    grade = values["infusion_reaction_grade"]
    if grade is not None and not 1 <= grade <= 5:
        raise TransitionInvalid("A reaction grade is 1-5.", field="infusion_reaction_grade")
    if values["reaction_is_hypersensitivity"] and grade is None:
        raise TransitionInvalid("Give the grade of the hypersensitivity reaction.",
                                field="infusion_reaction_grade")
    warnings: list[str] = []
    if values["lar_injected_at"] is not None:
        hours = (values["lar_injected_at"] - values["administered_at"]).total_seconds() / 3600
        if not 4 <= hours <= 24:
            warnings.append(f"Octreotide LAR was given {hours:.1f} h after the infusion; the "
                            "label says 4-24 h.")
    if approved is not None and activity != approved:
        warnings.append(f"{activity} GBq given; {approved} GBq was approved.")
    return warnings


def _check_dose_order(administration: Administration, administered_at: dt.datetime) -> None:
    """A corrected infusion time stays after the cycle before's dose and before the next's."""
    number = administration.cycle.number
    others = (Administration.objects.filter(cycle__course_id=administration.cycle.course_id)
              .exclude(pk=administration.pk).select_related("cycle"))
    for other in others:
        if other.cycle.number < number and administered_at <= other.administered_at:
            raise TransitionInvalid(f"The infusion time must be after the dose of cycle "
                                    f"{other.cycle.number}.", field="administered_at")
        if other.cycle.number > number and administered_at >= other.administered_at:
            raise TransitionInvalid(f"The infusion time must be before the dose of cycle "
                                    f"{other.cycle.number}.", field="administered_at")


def _stops(values: dict) -> bool:
    return bool(values["reaction_is_hypersensitivity"]
                and (values["infusion_reaction_grade"] or 0) >= 3)


def administration_amend(*, actor, administration: Administration, reason: str,
                         **changes) -> AdministrationAmendment:
    """Correct what was recorded on the infusion day (the infusion and LAR times, the activity,
    amino acids, antiemetic, the reaction grade and hypersensitivity, precautions given, notes)
    with a reason (required), by the centre's navigators and NET specialists.

    The values before and after are kept as the record's history and audited; the warnings are
    recomputed; the later cycles move with a corrected infusion time, and the plan and its tasks
    follow on commit (``AdministrationAmended``). A reaction corrected to a grade 3-4
    hypersensitivity reaction stops the course, as it would have on the day."""
    reason = (reason or "").strip()
    unknown = sorted(set(changes) - set(AMENDABLE_FIELDS))
    if unknown:
        raise TransitionInvalid(f"{unknown[0]} cannot be amended.", field=unknown[0])
    course = administration.cycle.course
    access.check_may_change_patient(actor, course.patient)
    if actor.role not in (Role.NAVIGATOR, Role.SPECIALIST) or actor.centre_id != course.centre_id:
        raise TransitionForbidden("Only the centre's navigators and NET specialists can amend "
                                  "an administration record.")
    if not reason:
        raise TransitionInvalid("Say why the record is amended.", field="reason")
    if "activity_gbq" in changes:
        try:
            changes["activity_gbq"] = Decimal(str(changes["activity_gbq"]))
        except InvalidOperation:
            raise TransitionInvalid("Give the activity in GBq.", field="activity_gbq") from None
    if "notes" in changes:
        changes["notes"] = (changes["notes"] or "").strip()
    with transaction.atomic():
        locked = (Administration.objects.select_for_update()
                  .select_related("cycle__course__centre", "cycle__course__patient")
                  .get(pk=administration.pk))
        cycle = locked.cycle
        course = cycle.course
        current = {name: getattr(locked, name) for name in AMENDABLE_FIELDS}
        new = {**current, **changes}
        changed = [name for name in AMENDABLE_FIELDS if new[name] != current[name]]
        if not changed:
            raise TransitionInvalid("Nothing was changed: correct at least one value.")
        warnings = _checked(new, cycle.approved_activity_gbq, set(changed))
        _check_dose_order(locked, new["administered_at"])
        before = audit.snapshot(locked, [*changed, "warnings"])
        for name in changed:
            setattr(locked, name, new[name])
        locked.warnings = warnings
        locked.save(update_fields=[*changed, "warnings"])
        after = audit.snapshot(locked, before.keys())
        amendment = AdministrationAmendment.objects.create(
            administration=locked, before=before, after=after, reason=reason, amended_by=actor)
        audit.record_update(actor=actor, obj=locked, before=before,
                            note=f"Administration amended: {reason}")
        if "administered_at" in changed:
            cycle_dates_sync(course)  # the later cycles move with the corrected dose
        if _stops(new) and not _stops(current) and course.state in (CourseState.APPROVED,
                                                                    CourseState.ACTIVE):
            grade = new["infusion_reaction_grade"]
            adverse_event_report(actor=actor, patient=course.patient,
                                 term="Anaphylaxis / hypersensitivity reaction",
                                 category="hypersensitivity", ctcae_grade=grade,
                                 onset_on=local_date(new["administered_at"], course.centre),
                                 related_to_treatment=True)
            course_discontinue(
                actor=actor, course=course, step_name="discontinue_for_hypersensitivity",
                reason=f"Grade {grade} hypersensitivity reaction during cycle {cycle.number} "
                       f"(recorded by an amendment): PRRT is stopped permanently.")
        events.publish(events.AdministrationAmended(
            course_id=course.pk, cycle_id=cycle.pk, administration_id=locked.pk,
            amendment_id=amendment.pk))
    return amendment


def _shown(name: str, value, zone: zoneinfo.ZoneInfo) -> str:
    """A stored value (as the audit snapshot keeps it) the way the record shows it."""
    if value in (None, "", []):
        return "—" if name != "infusion_reaction_grade" else "None"
    if name in ("administered_at", "lar_injected_at"):
        moment = dt.datetime.fromisoformat(value).astimezone(zone)
        return f"{moment:%a} {moment.day} {moment:%b %Y %H:%M}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name == "activity_gbq":
        return f"{plain(value)} GBq"
    if name == "infusion_reaction_grade":
        return f"Grade {value}"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def amendment_rows(amendment: AdministrationAmendment,
                   time_zone: str) -> list[tuple[str, str, str]]:
    """(what, before, after) of an amendment for the pages, in the record's order, times in the
    centre's zone."""
    zone = zoneinfo.ZoneInfo(time_zone)
    labels = {f.name: str(f.verbose_name) for f in Administration._meta.concrete_fields}  # noqa: SLF001
    return [(labels[name][:1].upper() + labels[name][1:],
             _shown(name, amendment.before.get(name), zone),
             _shown(name, amendment.after.get(name), zone))
            for name in [*AMENDABLE_FIELDS, "warnings"] if name in amendment.before]
