"""PRRT course and cycle use cases, each through netcare.workflow's funnel.

NETcare recommends; a NET specialist decides. Nothing here moves a cycle to approved without a
specialist's decision; computed transitions (a cycle becoming ready, completing after its
precaution window, a course completing) are taken by NETcare itself and recorded as such.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

import rules
from netcare import audit, events
from netcare.clock import EARLIEST_MOMENT, centre_today, local_date, plan_date_error
from netcare.models import Role
from netcare.workflow import (
    Step,
    TransitionConflict,
    TransitionForbidden,
    TransitionInvalid,
    check_transition,
    run_transition,
)
from patients.records import eligibility_review
from patients.services import adverse_event_report
from prrt import capacity, clinical, orders
from prrt.models import (
    MAX_CYCLES,
    OPEN_CYCLE_STATES,
    Administration,
    CourseEvent,
    CourseState,
    Cycle,
    CycleDecision,
    CycleState,
    TreatmentCourse,
)
from prrt.schedule import cycle_dates_sync
from referrals.models import ReferralState
from referrals.services import referral_transition

NO_RECOMMENDATION = "NONE"  # stored as the recommended action while the panel is incomplete
FULL = Decimal("7.4")
REDUCED = Decimal("3.7")
ACTIVITIES = (FULL, REDUCED)


def _course_event(course, cycle, actor, name, reason=""):
    def record(obj, source, target):
        CourseEvent.objects.create(course=course, cycle=cycle, actor=actor, transition=name,
                                   source=source, target=target, reason=reason)
    return record


def _course_changed(name: str, actor):
    def event(obj: TreatmentCourse, source: str, target: str) -> events.CourseChanged:
        return events.CourseChanged(model="prrt.TreatmentCourse", object_id=obj.pk,
                                    transition=name, source=source, target=target,
                                    actor_id=getattr(actor, "pk", None), course_id=obj.pk,
                                    patient_id=obj.patient_id)
    return event


def _cycle_changed(name: str, actor):
    def event(obj: Cycle, source: str, target: str) -> events.CycleChanged:
        return events.CycleChanged(model="prrt.Cycle", object_id=obj.pk, transition=name,
                                   source=source, target=target,
                                   actor_id=getattr(actor, "pk", None),
                                   course_id=obj.course_id, cycle_number=obj.number)
    return event


def _course_step(course: TreatmentCourse, step: Step, actor, reason: str = "",
                 after_apply=None) -> TreatmentCourse:
    return run_transition(queryset=TreatmentCourse.objects.all(), pk=course.pk, step=step,
                          actor=actor, reason=reason,
                          record_event=_course_event(course, None, actor, step.name, reason),
                          after_apply=after_apply, event=_course_changed(step.name, actor))


def _cycle_step(cycle: Cycle, step: Step, actor, reason: str = "", after_apply=None,
                before_apply=None) -> Cycle:
    return run_transition(queryset=Cycle.objects.select_related("course"), pk=cycle.pk,
                          step=step, actor=actor, reason=reason,
                          record_event=_course_event(cycle.course, cycle, actor, step.name,
                                                     reason),
                          before_apply=before_apply, after_apply=after_apply,
                          event=_cycle_changed(step.name, actor))


# --- opening and eligibility -----------------------------------------------------------------


def course_open(*, actor, referral, planned_first_dose: dt.date) -> TreatmentCourse:
    """Open the course of an accepted referral, with its four cycles planned 8 weeks apart."""
    if actor.role not in (Role.SPECIALIST, Role.NAVIGATOR) or actor.centre_id != referral.centre_id:
        raise TransitionForbidden("Only the receiving centre's team can open a course.")
    if referral.state not in (ReferralState.ACCEPTED, ReferralState.CONSULT_BOOKED):
        raise TransitionConflict("A course is opened from an accepted referral.")
    date_error = plan_date_error(planned_first_dose, today=centre_today(referral.centre),
                                 what="The first dose")
    if date_error:
        raise TransitionInvalid(date_error, field="planned_first_dose")
    config = clinical.rules_config(referral.centre)
    with transaction.atomic():
        if TreatmentCourse.objects.filter(referral=referral).exists():
            raise TransitionConflict("This referral already has a course.")
        course = TreatmentCourse.objects.create(
            patient=referral.patient, referral=referral, centre=referral.centre,
            planned_first_dose=planned_first_dose)
        for number in range(1, MAX_CYCLES + 1):
            day = planned_first_dose + dt.timedelta(days=config.cycle_interval_days * (number - 1))
            Cycle.objects.create(course=course, number=number, due_date=day, planned_date=day)
        audit.record_create(actor=actor, obj=course)
    return course


def eligibility_step(approve: bool) -> Step:
    if approve:
        return Step("approve", "approve the course")
    return Step("reject", "decide the course is not approved", reason_required=True)


def course_decide_eligibility(*, actor, course: TreatmentCourse, approve: bool, reason: str = "",
                              today: dt.date, labs_drawn_by: str | None = None,
                              lar_during_course_by: str | None = None,
                              lar_after_course_by: str | None = None) -> TreatmentCourse:
    """The specialist approves the course (or not). Overriding a block or review finding, and
    not approving, need a reason; the findings and the whole checklist (every criterion with
    its value, date and source, as the records stood on `today`) are stored with the decision,
    so later changes to the record do not change what was decided on."""
    step = eligibility_step(approve)
    check_transition(course, step, actor)
    review = eligibility_review(course.patient, today=today,
                                planned_first_dose=course.planned_first_dose)
    findings = review.findings
    serious = [f for f in findings if f.severity in (rules.Severity.BLOCK, rules.Severity.REVIEW)]
    reason = (reason or "").strip()
    if approve and serious and not reason:
        raise TransitionInvalid(
            "Approving over a block or review finding needs a reason: "
            + "; ".join(f.reason for f in serious), field="reason")
    if approve and course.referral.state not in (ReferralState.CONSULT_BOOKED,
                                                 ReferralState.IN_TREATMENT):
        raise TransitionInvalid("Book the consult on the referral before approving the course.",
                                field="referral")

    def apply(obj: TreatmentCourse) -> None:
        obj.eligibility_decided_by = actor
        obj.eligibility_decided_at = timezone.now()
        obj.eligibility_reason = reason
        obj.eligibility_findings = [f.as_dict() for f in findings]
        obj.eligibility_checklist = review.checklist
        obj.eligibility_overridden = bool(approve and serious)
        for name, value in (("labs_drawn_by", labs_drawn_by),
                            ("lar_during_course_by", lar_during_course_by),
                            ("lar_after_course_by", lar_after_course_by)):
            if value is not None:
                setattr(obj, name, value)

    with transaction.atomic():
        course = _course_step(course, step, actor, reason, after_apply=apply)
        if approve and course.referral.state == ReferralState.CONSULT_BOOKED:
            referral_transition(referral=course.referral, name="start_treatment",
                                actor=actor, reason="PRRT course approved.")
    # Readiness and the plan follow on commit, through the CourseChanged event.
    return course


# --- readiness and completion: computed --------------------------------------------------------


def cycle_refresh(*, cycle: Cycle, today: dt.date) -> Cycle:
    """Recompute readiness; move planned/withheld -> ready or ready -> planned accordingly."""
    cycle = Cycle.objects.select_related("course__centre", "course__patient").get(pk=cycle.pk)
    if cycle_dates_sync(cycle.course):  # readiness reads the plan's infusion day
        cycle.refresh_from_db(fields=["planned_date", "due_date"])
    result = clinical.readiness(cycle, today=today)
    if cycle.missing != result.missing + result.warnings:
        Cycle.objects.filter(pk=cycle.pk).update(missing=result.missing + result.warnings)
    if result.ready and cycle.state in (CycleState.PLANNED, CycleState.WITHHELD):
        return _cycle_step(cycle, Step("mark_ready", "mark the cycle ready"), None,
                           "Pre-cycle checks pass.")
    if not result.ready and cycle.state == CycleState.READY:
        return _cycle_step(cycle, Step("mark_not_ready", "mark the cycle not ready"), None,
                           "; ".join(result.missing))
    return cycle


def course_refresh(*, course: TreatmentCourse, today: dt.date | None = None) -> None:
    """Recompute every open cycle of the course and complete what the calendar has completed;
    `today` defaults to the centre's date."""
    today = today or centre_today(course.centre)
    config = clinical.rules_config(course.centre)
    for cycle in course.cycles.filter(state__in=[CycleState.PLANNED, CycleState.READY,
                                                 CycleState.WITHHELD]).order_by("number")[:1]:
        cycle_refresh(cycle=cycle, today=today)
    for cycle in course.cycles.filter(state=CycleState.ADMINISTERED).select_related(
            "administration"):
        given = local_date(cycle.administration.administered_at, course.centre)
        if today > given + dt.timedelta(days=config.precaution_days):
            _cycle_step(cycle, Step("complete", "complete the cycle"), None,
                        "The precaution window has ended.")
    course.refresh_from_db()
    if course.state == CourseState.ACTIVE and not course.cycles.filter(
            state__in=[*OPEN_CYCLE_STATES, CycleState.ADMINISTERED]).exists():
        # NETcare completes the course; the referral back is a person's act, with the course
        # letter (coordinators.letters), prompted by the plan's "refer back" task.
        _course_step(course, Step("complete", "complete the course"), None,
                     "All cycles are complete.")


def prrt_sweep(*, today: dt.date | None = None) -> int:
    """Refresh every running course (beat runs this), each on its centre's date unless `today`
    is given; returns how many were looked at."""
    courses = TreatmentCourse.objects.filter(
        state__in=[CourseState.APPROVED, CourseState.ACTIVE]).select_related("centre", "patient")
    count = 0
    for course in courses:
        course_refresh(course=course, today=today)
        count += 1
    return count


# --- the specialist's decision ----------------------------------------------------------------

_DECISION_STEPS = {
    CycleDecision.Decision.APPROVE: Step("approve", "approve the cycle"),
    CycleDecision.Decision.WITHHOLD: Step("withhold", "withhold the cycle"),
}

_RECOMMENDED_DECISION = {
    rules.Action.PROCEED: (CycleDecision.Decision.APPROVE, FULL),
    rules.Action.REESCALATE: (CycleDecision.Decision.APPROVE, FULL),
    rules.Action.RESUME_REDUCED: (CycleDecision.Decision.APPROVE, REDUCED),
    rules.Action.WITHHOLD: (CycleDecision.Decision.WITHHOLD, None),
    rules.Action.DISCONTINUE: (CycleDecision.Decision.DISCONTINUE, None),
}


def cycle_decide_check(*, actor, cycle: Cycle, decision: str) -> None:
    """The state and role checks of a decision, before any input is read (409, then 403)."""
    if decision == CycleDecision.Decision.DISCONTINUE:
        if cycle.state not in (CycleState.PLANNED, CycleState.READY, CycleState.WITHHELD):
            raise TransitionConflict(
                f"Cannot discontinue from this cycle: it is {cycle.get_state_display().lower()}.")
        check_transition(cycle.course, Step("discontinue", "discontinue the course"), actor)
    else:
        check_transition(cycle, _DECISION_STEPS[decision], actor)


def cycle_decide(*, actor, cycle: Cycle, decision: str, today: dt.date,
                 activity_gbq: Decimal | None = None, categories: list[str] | None = None,
                 reason: str = "", order_action: str = "") -> CycleDecision:
    """Approve (with 7.4 or 3.7 GBq), withhold (with the triggering categories) or discontinue.

    The rules' recommendation and the labs it used are stored with the decision. A decision that
    differs from the recommendation needs a written reason and is marked on the record. A
    withhold cancels the cycle's dose order; past its free cancellation, `order_action` says
    whether to cancel it late (charged) or keep the dose (prrt.orders). What happened to the
    order is in the returned decision's ``order_notes``."""
    reason = (reason or "").strip()
    if decision not in CycleDecision.Decision.values:
        raise TransitionInvalid(f"Unknown decision '{decision}'.", field="decision")
    # State and role first: a wrong state is a conflict and a wrong role is refused before
    # anything is read from the input. Discontinuing is decided on an open cycle too.
    cycle_decide_check(actor=actor, cycle=cycle, decision=decision)
    if decision == CycleDecision.Decision.APPROVE:
        if activity_gbq is None or Decimal(str(activity_gbq)) not in ACTIVITIES:
            raise TransitionInvalid("Approve with 7.4 or 3.7 GBq.", field="activity_gbq")
        activity_gbq = Decimal(str(activity_gbq))
    categories = sorted(set(categories or []))
    if decision == CycleDecision.Decision.WITHHOLD:
        unknown = [c for c in categories if c not in rules.Category.__members__.values()]
        if unknown:
            raise TransitionInvalid(f"Unknown categories: {', '.join(unknown)}.",
                                    field="categories")
    with transaction.atomic():
        locked = Cycle.objects.select_for_update().select_related(
            "course__centre", "course__patient", "course__referral").get(pk=cycle.pk)
        recommendation = clinical.recommendation_for(locked, today=today)
        action = recommendation.decision.action
        # While the decision panel is incomplete there is no recommendation (§4.5): any decision
        # is taken without one and needs a written reason.
        expected, expected_activity = (_RECOMMENDED_DECISION.get(action, (None, None))
                                       if recommendation.complete else (None, None))
        if decision == CycleDecision.Decision.APPROVE:
            short_acting = clinical.short_acting_ssa_check(
                locked.course.patient, clinical.planned_infusion_at(locked),
                clinical.rules_config(locked.course.centre))
            if short_acting is not None:
                raise TransitionInvalid(f"{short_acting.reason}: book the infusion later.",
                                        field="decision")
        if decision == CycleDecision.Decision.WITHHOLD and not categories:
            categories = [str(c) for c in recommendation.decision.trigger_categories]
            if not categories:
                raise TransitionInvalid("Name the categories the cycle is withheld for.",
                                        field="categories")
        follows = decision == expected and (decision != CycleDecision.Decision.APPROVE
                                            or activity_gbq == expected_activity)
        if decision == CycleDecision.Decision.WITHHOLD and follows:
            follows = set(categories) == {str(c) for c in
                                          recommendation.decision.trigger_categories}
        if not follows and not reason:
            if not recommendation.complete:
                raise TransitionInvalid(
                    f"{recommendation.decision.reasons[0]} A decision without a "
                    "recommendation needs a written reason.", field="reason")
            raise TransitionInvalid(
                f"The rules recommend {action}: a different decision needs a written reason.",
                field="reason")
        target_step = _DECISION_STEPS.get(decision)
        if target_step is not None:
            def apply(obj: Cycle) -> None:
                if decision == CycleDecision.Decision.APPROVE:
                    obj.approved_activity_gbq = activity_gbq
            _cycle_step(locked, target_step, actor, reason, after_apply=apply)
        else:
            triggers = recommendation.decision.triggers
            course_discontinue(actor=actor, course=locked.course, reason=reason or (
                "; ".join(t.reason for t in triggers) if triggers
                else recommendation.decision.reasons[0]))
        record = CycleDecision.objects.create(
            cycle=locked, decision=decision, activity_gbq=activity_gbq, categories=categories,
            recommended_action=recommendation.action or NO_RECOMMENDATION,
            recommendation=recommendation.rendered,
            labs_snapshot=clinical.labs_snapshot(recommendation.labs, recommendation.ranges),
            follows_recommendation=follows, reason=reason, decided_by=actor)
        if locked.number == 1 and decision == CycleDecision.Decision.APPROVE \
                and not locked.course.baseline:
            TreatmentCourse.objects.filter(pk=locked.course_id).update(
                baseline=clinical.baseline_snapshot(locked.course, recommendation.labs, today))
        audit.record_create(actor=actor, obj=record)
        record.order_notes = []
        if decision == CycleDecision.Decision.WITHHOLD:
            record.order_notes = orders.orders_after_stop(
                actor=actor, cycle=locked, today=today, order_action=order_action,
                why="withheld")
            cycle_dates_sync(locked.course)  # the cycle now waits for its recheck day
            capacity.slot_release(locked, actor=None, why="the cycle was withheld.")
        events.publish(events.CycleDecided(course_id=locked.course_id, cycle_id=locked.pk,
                                           decision_id=record.pk, decision=decision))
    return record


def course_discontinue(*, actor, course: TreatmentCourse, reason: str,
                       step_name: str = "discontinue") -> TreatmentCourse:
    """End the course early: open cycles are cancelled; the plan then asks for the referral back
    with the course letter."""
    def apply(obj: TreatmentCourse) -> None:
        obj.ended_reason = reason
        obj.ended_at = timezone.now()

    with transaction.atomic():
        course = _course_step(course, Step(step_name, "discontinue the course",
                                           reason_required=True), actor, reason,
                              after_apply=apply)
        for cycle in course.cycles.filter(state__in=OPEN_CYCLE_STATES):
            cancelled = _cycle_step(cycle, Step("cancel", "cancel the cycle"), None,
                                    "The course was discontinued.")
            capacity.slot_release(cancelled, actor=None, why="the cycle was cancelled.")
            # Nothing more will be given: its dose order is cancelled (charged when late).
            orders.orders_after_stop(actor=actor, cycle=cancelled,
                                     today=centre_today(course.centre),
                                     order_action=orders.OrderAction.CANCEL,
                                     why="cancelled: the course was discontinued")
    return course


# --- the infusion day -------------------------------------------------------------------------


def cycle_administer(*, actor, cycle: Cycle, administered_at: dt.datetime,
                     activity_gbq: Decimal, no_short_acting_ssa_24h: bool,
                     lar_injected_at: dt.datetime | None = None, amino_acids_given: bool = True,
                     antiemetic_given: bool = True, infusion_reaction_grade: int | None = None,
                     reaction_is_hypersensitivity: bool = False, notes: str = "",
                     precautions_given: bool = False) -> Administration:
    """Record what was given. A grade 3-4 hypersensitivity reaction discontinues the course."""
    if administered_at.tzinfo is None:
        raise TransitionInvalid("Give the infusion time with its time zone.",
                                field="administered_at")
    if administered_at > timezone.now() + dt.timedelta(minutes=5):
        raise TransitionInvalid("The infusion time is in the future.", field="administered_at")
    if administered_at < EARLIEST_MOMENT:
        raise TransitionInvalid("The infusion time is before 1900.", field="administered_at")
    if not no_short_acting_ssa_24h:
        raise TransitionInvalid("Confirm no short-acting octreotide in the 24 h before the dose.",
                                field="no_short_acting_ssa_24h")
    # Recorded short-acting octreotide doses decide when there are any; the attestation above
    # stands for what is not recorded.
    short_acting = clinical.short_acting_ssa_check(
        cycle.course.patient, administered_at, clinical.rules_config(cycle.course.centre))
    if short_acting is not None:
        raise TransitionInvalid(short_acting.reason + ".", field="no_short_acting_ssa_24h")
    activity_gbq = Decimal(str(activity_gbq))
    if not Decimal("0.1") <= activity_gbq <= Decimal("8"):
        raise TransitionInvalid("The administered activity must be 0.1-8 GBq.",
                                field="activity_gbq")
    if infusion_reaction_grade is not None and not 1 <= infusion_reaction_grade <= 5:
        raise TransitionInvalid("A reaction grade is 1-5.", field="infusion_reaction_grade")
    warnings: list[str] = []
    if lar_injected_at is not None:
        hours = (lar_injected_at - administered_at).total_seconds() / 3600
        if not 4 <= hours <= 24:
            warnings.append(f"Octreotide LAR was given {hours:.1f} h after the infusion; the "
                            "label says 4-24 h.")
    with transaction.atomic():
        def check(obj: Cycle) -> None:
            if obj.approved_activity_gbq is not None and activity_gbq != obj.approved_activity_gbq:
                warnings.append(f"{activity_gbq} GBq given; {obj.approved_activity_gbq} GBq "
                                "was approved.")

        locked = _cycle_step(cycle, Step("administer", "record the administration"), actor,
                             before_apply=check)
        administration = Administration.objects.create(
            cycle=locked, administered_at=administered_at, activity_gbq=activity_gbq,
            lar_injected_at=lar_injected_at, amino_acids_given=amino_acids_given,
            antiemetic_given=antiemetic_given, no_short_acting_ssa_24h=True,
            infusion_reaction_grade=infusion_reaction_grade,
            reaction_is_hypersensitivity=reaction_is_hypersensitivity,
            precautions_given=precautions_given, warnings=warnings,
            notes=notes, recorded_by=actor)
        audit.record_create(actor=actor, obj=administration)
        orders.orders_after_administration(cycle=locked)
        course = locked.course
        if course.state == CourseState.APPROVED:
            course = _course_step(course, Step("activate", "start the course"), actor)
        given = local_date(administered_at, course.centre)
        cycle_dates_sync(course)  # the later cycles move with this dose, in this transaction
        if reaction_is_hypersensitivity and (infusion_reaction_grade or 0) >= 3:
            adverse_event_report(actor=actor, patient=course.patient,
                                 term="Anaphylaxis / hypersensitivity reaction",
                                 category="hypersensitivity",
                                 ctcae_grade=infusion_reaction_grade, onset_on=given,
                                 related_to_treatment=True)
            course_discontinue(
                actor=actor, course=course, step_name="discontinue_for_hypersensitivity",
                reason=f"Grade {infusion_reaction_grade} hypersensitivity reaction during cycle "
                       f"{locked.number}: PRRT is stopped permanently.")
        events.publish(events.CycleAdministered(course_id=course.pk, cycle_id=locked.pk,
                                                administration_id=administration.pk))
    return administration
