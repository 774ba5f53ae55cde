"""Core pages: role home routing, the three role home pages and the health check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from coordinators.selectors import tasks_held_by
from netcare import audit, health
from netcare.access import role_required
from netcare.clock import local_date, user_today
from netcare.models import AuditEvent, Role
from network.bulletins import oncologist_network
from network.mdt_selectors import recent_outcomes
from patients.models import AdverseEvent
from prrt.models import (
    OPEN_CYCLE_STATES,
    CourseState,
    Cycle,
    CycleDecision,
    TreatmentCourse,
)
from prrt.schedule import PLANNED_COURSE_STATES, booked_since_withhold, last_withhold
from prrt.selectors import approval_queue, eligibility_queue
from referrals.models import ReferralState
from referrals.selectors import (
    NEXT_STEP_FOR_REFERRER,
    patients_with_latest_referral,
    specialist_inbox,
)

ROLE_HOMES = {
    Role.NAVIGATOR: "navigator-home",
    Role.SPECIALIST: "specialist-home",
    Role.REFERRING_ONCOLOGIST: "oncologist-home",
    Role.ADMINISTRATOR: "admin:index",
}


class LoginView(auth_views.LoginView):
    """The password step. django-axes (an authentication backend) refuses a locked-out username
    from that address; every failure is audited (netcare.auth_audit); the second factor, where
    required, follows (netcare.mfa)."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(actor=form.get_user(), action=AuditEvent.Action.LOGIN,
                     ip_address=audit.client_ip(self.request))
        return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    target = ROLE_HOMES.get(request.user.role)
    if target is None:
        messages.error(request, "Your account has no role yet. Ask your centre administrator.")
        return render(request, "netcare/no_role.html", status=403)
    return redirect(reverse(target))


@role_required(Role.SPECIALIST)
def specialist_home(request: HttpRequest) -> HttpResponse:
    trays = specialist_inbox(request.user)
    cycles = list(approval_queue(request.user).select_related("course__patient"))
    courses = list(eligibility_queue(request.user).select_related("patient"))
    audit.record_list(request=request, what="specialist-home", patient_ids=[
        *audit.patients_named(r for tray in trays.values() for r in tray),
        *audit.patients_named(cycles, "course.patient"), *audit.patients_named(courses)])
    return render(request, "netcare/specialist_home.html",
                  {"trays": trays, "cycles": cycles, "courses": courses})


REDUCED_ACTIVITY = Decimal("3.7")
OBLIGATION_DAYS = 60
OBLIGATIONS_SHOWN = 3
_CATEGORY_LABELS = dict(AdverseEvent.Category.choices)


@dataclass
class CourseSummary:
    """One course as the referring oncologist follows it: the next infusion as the plan has it
    (the next open cycle's ``planned_date``, the same day the course page, the tasks and the
    calendar feed show), the withholds and dose reductions so far, and the doses given."""

    course: TreatmentCourse
    next_cycle: Cycle | None = None
    next_booked: bool = False
    withholds: list[dict] = field(default_factory=list)
    reductions: list[dict] = field(default_factory=list)
    doses: list[dict] = field(default_factory=list)


def _course_summary(course: TreatmentCourse) -> CourseSummary:
    """From the prefetched cycles, decisions and administrations: no query."""
    summary = CourseSummary(course)
    running = course.state in (CourseState.APPROVED, CourseState.ACTIVE)
    for cycle in course.cycles.all():  # by number
        if running and summary.next_cycle is None and cycle.state in OPEN_CYCLE_STATES:
            summary.next_cycle = cycle
            # Booked when the booking stands (made after any withhold) and the plan's day is
            # the booked day.
            summary.next_booked = (booked_since_withhold(cycle, last_withhold(cycle))
                                   and cycle.booked_date == cycle.planned_date)
        for decision in cycle.decisions.all():
            on = local_date(decision.decided_at, course.centre)
            if decision.decision == CycleDecision.Decision.WITHHOLD:
                summary.withholds.append({
                    "cycle": cycle.number, "on": on,
                    "categories": [_CATEGORY_LABELS.get(c, c) for c in decision.categories]})
            elif (decision.decision == CycleDecision.Decision.APPROVE
                  and decision.activity_gbq == REDUCED_ACTIVITY):
                summary.reductions.append({"cycle": cycle.number, "on": on,
                                           "activity_gbq": decision.activity_gbq})
        given = getattr(cycle, "administration", None)
        if given is not None:
            summary.doses.append({"cycle": cycle.number,
                                  "on": local_date(given.administered_at, course.centre),
                                  "activity_gbq": given.activity_gbq})
    return summary


def _planned_courses() -> Prefetch:
    """Each patient's courses with a plan, newest first, with their cycles (and each cycle's
    administration and decisions): three queries whatever the number of patients."""
    cycles = (Cycle.objects.select_related("administration").order_by("number")
              .prefetch_related(Prefetch("decisions",
                                         queryset=CycleDecision.objects.order_by("decided_at",
                                                                                 "id"))))
    courses = (TreatmentCourse.objects.filter(state__in=PLANNED_COURSE_STATES)
               .select_related("centre").order_by("-created_at", "-id")
               .prefetch_related(Prefetch("cycles", queryset=cycles)))
    return Prefetch("courses", queryset=courses, to_attr="planned_courses")


@role_required(Role.REFERRING_ONCOLOGIST)
def oncologist_home(request: HttpRequest) -> HttpResponse:
    """The referring oncologist's patients (scoped by netcare.access): the referral and its next
    step, the next infusion, withholds, dose reductions and doses so far, and what the practice
    holds: open tasks only, never one that is done, closed by NETcare from its record, skipped
    or cancelled. A constant number of queries whatever the number of patients."""
    today = user_today(request.user)
    horizon = today + dt.timedelta(days=OBLIGATION_DAYS)
    obligations: dict[int, list] = {}
    for task in tasks_held_by(request.user).filter(due__lte=horizon):
        obligations.setdefault(task.patient_id, []).append(task)
    patients = list(patients_with_latest_referral(request.user)
                    .prefetch_related(_planned_courses()))
    for patient in patients:
        patient.next_step = NEXT_STEP_FOR_REFERRER.get(patient.referral_state, "")
        patient.referral_state_label = (ReferralState(patient.referral_state).label
                                        if patient.referral_state else "")
        held = obligations.get(patient.pk, [])
        patient.obligations = held[:OBLIGATIONS_SHOWN]
        patient.more_obligations = max(len(held) - OBLIGATIONS_SHOWN, 0)
        patient.prrt = (_course_summary(patient.planned_courses[0])
                        if patient.planned_courses else None)
    outcomes = recent_outcomes(request.user)  # MDT outcomes signed for their patients
    audit.record_list(request=request, what="oncologist-home",
                      patient_ids=[*audit.patients_named(patients, ""),
                                   *audit.patients_named(outcomes)])
    return render(request, "netcare/oncologist_home.html",
                  {"patients": patients, "today": today, "mdt_outcomes": outcomes,
                   "network": oncologist_network(request.user)})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    result = health.status()
    healthy = all(value == "ok" for value in result.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **result},
                        status=200 if healthy else 503)
