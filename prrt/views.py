"""PRRT pages: course status, eligibility review, the approval queue and page, the infusion day."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from netcare import audit
from netcare.access import role_required
from netcare.clock import centre_today
from netcare.models import Role
from netcare.workflow import TransitionError
from patients.models import LabResult
from prrt import bookings, capacity, clinical, order_views, orders, selectors, services
from prrt.amendments import administration_amend, amendment_rows
from prrt.forms import (
    AdministrationAmendForm,
    AdministrationForm,
    BookingForm,
    CycleDecisionForm,
    EligibilityForm,
    OpenCourseForm,
)
from prrt.instructions import (
    instructions_email,
    instructions_for,
    instructions_given,
    instructions_pdf,
)
from prrt.models import OPEN_CYCLE_STATES, Administration, CycleState
from referrals.eligibility import eligibility_context
from referrals.selectors import referral_for

GRADE_CLASS = {0: "badge-ok", 1: "badge-info", 2: "badge-warn", 3: "badge-bad", 4: "badge-bad"}


def _fail(request, exc: TransitionError) -> None:
    messages.error(request, exc.message)


def _form_error(request, form, exc: TransitionError) -> None:
    """A field's problem goes beside the field; a state or role problem is a page message."""
    if exc.field in form.fields:
        form.add_error(exc.field, exc.message)
    else:
        form.add_error(None, exc.message)
        messages.error(request, exc.message)
    form.status = exc.status


def _status(form) -> int:
    return getattr(form, "status", 400)


@require_POST
@login_required
def course_open(request: HttpRequest, referral_id) -> HttpResponse:
    referral = referral_for(request.user, referral_id)
    form = OpenCourseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("planned_first_dose", ["Invalid."])))
        return redirect("referrals:detail", external_id=referral.external_id)
    try:
        course = services.course_open(actor=request.user, referral=referral,
                                      planned_first_dose=form.cleaned_data["planned_first_dose"])
    except TransitionError as exc:
        _fail(request, exc)
        return redirect("referrals:detail", external_id=referral.external_id)
    messages.success(request, "PRRT course opened for eligibility review.")
    return redirect("prrt:course", external_id=course.external_id)


@login_required
def course_detail(request: HttpRequest, external_id) -> HttpResponse:
    course = selectors.course_for(request.user, external_id)
    audit.record_view(actor=request.user, obj=course, ip_address=audit.client_ip(request))
    history = clinical.course_history(course)
    cycles = list(course.cycles.select_related("administration").prefetch_related("decisions"))
    context = {
        "course": course, "patient": course.patient, "cycles": cycles, "history": history,
        "events": course.events.select_related("actor", "cycle"),
        "is_specialist": request.user.role == Role.SPECIALIST,
        "is_centre_staff": request.user.role in (Role.SPECIALIST, Role.NAVIGATOR),
        "eligibility_form": EligibilityForm(),
        "administration_form": AdministrationForm(),
    }
    # The checklist the eligibility decision stored, or (the centre's team, before it) the
    # records evaluated now for the planned first dose.
    context.update(eligibility_context(
        course.patient, course.centre, course,
        live=course.state == "eligibility_review" and context["is_centre_staff"]))
    return render(request, "prrt/course.html", context)


@require_POST
@role_required(Role.SPECIALIST)
def course_eligibility(request: HttpRequest, external_id) -> HttpResponse:
    course = selectors.course_for(request.user, external_id)
    form = EligibilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether to approve the course.")
        return redirect("prrt:course", external_id=course.external_id)
    data = form.cleaned_data
    try:
        services.course_decide_eligibility(
            actor=request.user, course=course, approve=data["decision"] == "approve",
            reason=data["reason"], today=centre_today(course.centre),
            labs_drawn_by=data["labs_drawn_by"],
            lar_during_course_by=data["lar_during_course_by"],
            lar_after_course_by=data["lar_after_course_by"])
    except TransitionError as exc:
        _fail(request, exc)
    else:
        messages.success(request, "Eligibility decision recorded.")
    return redirect("prrt:course", external_id=course.external_id)


@role_required(Role.SPECIALIST)
def approval_queue(request: HttpRequest) -> HttpResponse:
    cycles = list(selectors.approval_queue(request.user).select_related("course__patient"))
    courses = list(selectors.eligibility_queue(request.user).select_related("patient"))
    audit.record_list(request=request, what="approval-queue", patient_ids=[
        *audit.patients_named(cycles, "course.patient"), *audit.patients_named(courses)])
    return render(request, "prrt/approvals.html", {"cycles": cycles, "courses": courses})


@login_required
def course_list(request: HttpRequest) -> HttpResponse:
    courses = list(selectors.course_list(request.user).select_related("patient"))
    audit.record_list(request=request, what="course-list",
                      patient_ids=audit.patients_named(courses))
    return render(request, "prrt/courses.html", {"courses": courses})


def labs_in_error(decisions) -> None:
    """Flag each decision with the labs it used (by the ids in its labs snapshot) that have
    since been marked in error: ``decision.labs_in_error``, one query for all of them."""
    ids = {lab["id"] for d in decisions for lab in (d.labs_snapshot or {}).values()
           if isinstance(lab, dict) and lab.get("id")}
    wrong = {str(lab.external_id): lab for lab in LabResult.objects.filter(
        external_id__in=ids, entered_in_error=True).select_related("marked_in_error_by")} \
        if ids else {}
    for decision in decisions:
        decision.labs_in_error = [wrong[lab["id"]] for lab in
                                  (decision.labs_snapshot or {}).values()
                                  if isinstance(lab, dict) and lab.get("id") in wrong]


def _administration_context(cycle, amend_form=None) -> dict:
    """The cycle's administration record, its amendments (before and after) and the form to
    amend it; empty before the infusion."""
    administration = (Administration.objects.filter(cycle=cycle)
                      .select_related("recorded_by").first())
    if administration is None:
        return {"administration": None}
    time_zone = cycle.course.centre.time_zone
    amendments = list(administration.amendments.select_related("amended_by"))
    return {
        "administration": administration,
        "amendments": [(amendment, amendment_rows(amendment, time_zone))
                       for amendment in amendments],
        "amend_form": amend_form or AdministrationAmendForm(administration=administration,
                                                            time_zone=time_zone),
    }


def _booking_form(cycle, rooms: bool) -> BookingForm:
    if rooms:
        return BookingForm(rooms=True)
    return BookingForm(initial={"booked_date": cycle.planned_date,
                                "booked_time": cycle.booked_time, "place": cycle.booked_place})


def _slot_choices(cycle, form: BookingForm, today) -> dict:
    """The free slots the booking form offers, as radios grouped by day, with the days the
    rules allow in the field's help (and a day outside them the navigator asked for)."""
    day = form.cleaned_data.get("booked_date") if hasattr(form, "cleaned_data") else None
    offer = capacity.slot_offer(cycle, today, day=day)
    field = form.fields["slot"]
    field.widget.choices = [(str(slot.key), slot.label) for slot in offer.slots]
    if not offer.window_open:
        field.help_text = (f"No day is left in the days the rules allow (from "
                           f"{offer.start:%a %d %b %Y}): give another day and a reason.")
    else:
        interval = ("after the withhold, until the 16-week limit; a reason is needed after 63 "
                    "days" if cycle.state == CycleState.WITHHELD
                    else "49-63 days after the previous dose")
        ordering = ", in time to order the dose" if orders.default_supplier(
            cycle.course.centre) is not None else ""
        field.help_text = (f"The days the rules allow: {offer.start:%a %d %b} to "
                           f"{offer.end:%a %d %b %Y} ({interval}, after the SSA washout, not in "
                           f"the past{ordering}).")
        if not any(offer.start <= slot.day <= offer.end for slot in offer.slots):
            field.help_text += " No slot is free then: give another day and a reason."
    form["slot"].help_text = field.help_text  # the bound field may be read already
    days = {str(slot.key): slot.day for slot in offer.slots}
    grouped: dict = {}
    for radio in form["slot"]:
        grouped.setdefault(days[radio.data["value"]], []).append(radio)
    return {"slot_offer": offer, "slot_days": list(grouped.items())}


def render_cycle(request, cycle, *, status: int = 200, order_form=None) -> HttpResponse:
    """The cycle page, with a form of the dose order panel and its errors (prrt.order_views)."""
    return render(request, "prrt/cycle.html", _cycle_context(request, cycle,
                                                             order_form=order_form),
                  status=status)


def _cycle_context(request, cycle, form=None, booking_form=None, amend_form=None,
                   order_form=None):
    today = centre_today(cycle.course.centre)
    decisions = list(cycle.decisions.select_related("decided_by"))
    labs_in_error(decisions)
    is_centre_staff = request.user.role in (Role.SPECIALIST, Role.NAVIGATOR)
    bookable = cycle.state in OPEN_CYCLE_STATES
    if booking_form is None:
        rooms = is_centre_staff and bookable and capacity.centre_has_rooms(cycle.course.centre)
        booking_form = _booking_form(cycle, rooms)
    context = {"cycle": cycle, "course": cycle.course, "patient": cycle.course.patient,
               "form": form or CycleDecisionForm(),
               "booking_form": booking_form,
               "bookable": bookable,
               "administration_form": AdministrationForm(
                   initial={"activity_gbq": cycle.approved_activity_gbq}),
               "decisions": decisions,
               "is_specialist": request.user.role == Role.SPECIALIST,
               "is_centre_staff": is_centre_staff,
               **_administration_context(cycle, amend_form),
               **order_views.order_context(cycle, today=today, is_centre_staff=is_centre_staff,
                                           bound=order_form)}
    if booking_form.rooms and is_centre_staff and bookable:
        context.update(_slot_choices(cycle, booking_form, today))
    if cycle.state in (CycleState.PLANNED, CycleState.READY, CycleState.WITHHELD):
        try:
            recommendation = clinical.recommendation_for(cycle, today=today)
        except ValueError as exc:
            context["recommendation_error"] = str(exc)
        else:
            rendered = recommendation.rendered
            context["recommendation"] = rendered
            context["history"] = recommendation.history
            context["grades"] = [
                {**grade, "analyte": analyte, "css": GRADE_CLASS.get(grade["grade"], "")}
                for analyte, grade in rendered["grades"].items()]
            context["labs"] = recommendation.labs
            crcl = recommendation.decision.crcl
            context["crcl"] = crcl
        context["readiness"] = clinical.readiness(cycle, today=today)
    if cycle.state in (CycleState.PLANNED, CycleState.READY):
        context["order_choice"] = orders.order_choice_needed(cycle, today=today)
    return context


@login_required
def cycle_detail(request: HttpRequest, external_id) -> HttpResponse:
    cycle = selectors.cycle_for(request.user, external_id)
    audit.record_view(actor=request.user, obj=cycle.course, ip_address=audit.client_ip(request))
    return render(request, "prrt/cycle.html", _cycle_context(request, cycle))


@require_POST
@login_required
def cycle_decide(request: HttpRequest, external_id) -> HttpResponse:
    cycle = selectors.cycle_for(request.user, external_id)
    form = CycleDecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            decided = services.cycle_decide(
                actor=request.user, cycle=cycle, decision=data["decision"],
                activity_gbq=data["activity_gbq"] or None, categories=data["categories"],
                reason=data["reason"], today=centre_today(cycle.course.centre),
                order_action=data["order_action"])
        except TransitionError as exc:
            _form_error(request, form, exc)
        else:
            messages.success(request, "Decision recorded.")
            for note in decided.order_notes:
                messages.warning(request, note)
            return redirect("prrt:cycle", external_id=cycle.external_id)
    messages.error(request, "The decision was not recorded.")
    return render(request, "prrt/cycle.html", _cycle_context(request, cycle, form),
                  status=_status(form))


@require_POST
@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def cycle_book(request: HttpRequest, external_id) -> HttpResponse:
    """Book or rebook the infusion; the plan, the tasks and the later cycles move with it."""
    cycle = selectors.cycle_for(request.user, external_id)
    form = BookingForm(request.POST, rooms=capacity.centre_has_rooms(cycle.course.centre))
    if form.is_valid():
        data = form.cleaned_data
        slot = data.get("slot")
        day = slot.day if slot is not None else data["booked_date"]
        try:
            result = bookings.cycle_book(
                actor=request.user, cycle=cycle, booked_date=day,
                booked_time=data.get("booked_time"), place=data.get("place", ""),
                reason=data["reason"], slot=slot)
        except TransitionError as exc:
            _form_error(request, form, exc)
        else:
            for warning in result.warnings:
                messages.warning(request, warning)
            where = (f" at {result.cycle.booked_time:%H:%M}, {result.cycle.booked_place}"
                     if slot is not None else "")
            messages.success(request, f"Cycle {cycle.number} booked for {day:%d %b %Y}{where}.")
            return redirect("prrt:cycle", external_id=cycle.external_id)
    messages.error(request, "The infusion was not booked.")
    return render(request, "prrt/cycle.html", _cycle_context(request, cycle, booking_form=form),
                  status=_status(form))


@require_POST
@login_required
def cycle_administer(request: HttpRequest, external_id) -> HttpResponse:
    cycle = selectors.cycle_for(request.user, external_id)
    form = AdministrationForm(request.POST)
    if form.is_valid():
        try:
            administration = services.cycle_administer(actor=request.user, cycle=cycle,
                                                       **form.cleaned_data)
        except TransitionError as exc:
            _form_error(request, form, exc)
        else:
            for warning in administration.warnings:
                messages.warning(request, warning)
            messages.success(request, "Administration recorded.")
            return redirect("prrt:course", external_id=cycle.course.external_id)
    context = _cycle_context(request, cycle)
    context["administration_form"] = form
    messages.error(request, "The administration was not recorded.")
    return render(request, "prrt/cycle.html", context, status=_status(form))


@require_POST
@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def cycle_administration_amend(request: HttpRequest, external_id) -> HttpResponse:
    """Correct the cycle's administration record, with a reason; its history is kept."""
    cycle = selectors.cycle_for(request.user, external_id)
    administration = Administration.objects.filter(cycle=cycle).first()
    if administration is None:
        messages.error(request, "No administration is recorded for this cycle yet.")
        return redirect("prrt:cycle", external_id=cycle.external_id)
    form = AdministrationAmendForm(request.POST, time_zone=cycle.course.centre.time_zone)
    if form.is_valid():
        try:
            administration_amend(actor=request.user, administration=administration,
                                 reason=form.cleaned_data["reason"], **form.changes())
        except TransitionError as exc:
            _form_error(request, form, exc)
        else:
            messages.success(request, "Administration record amended; the original values are "
                                      "kept in its history.")
            return redirect(f"{reverse('prrt:cycle', args=[cycle.external_id])}#administration")
    messages.error(request, "The administration record was not amended: correct the fields "
                            "marked below.")
    return render(request, "prrt/cycle.html", _cycle_context(request, cycle, amend_form=form),
                  status=_status(form))


@login_required
def cycle_instructions_pdf(request: HttpRequest, external_id) -> HttpResponse:
    """The printable radiation-safety instructions for this infusion (an audited export)."""
    cycle = selectors.cycle_for(request.user, external_id)
    instructions = instructions_for(cycle, today=centre_today(cycle.course.centre))
    pdf = instructions_pdf(instructions)
    instructions_given(actor=request.user, cycle=cycle, how="printed")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="radiation-safety-cycle-{cycle.number}.pdf"')
    return response


@require_POST
@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def cycle_instructions_email(request: HttpRequest, external_id) -> HttpResponse:
    cycle = selectors.cycle_for(request.user, external_id)
    if instructions_email(actor=request.user, cycle=cycle,
                          today=centre_today(cycle.course.centre)):
        messages.success(request, "The instructions were emailed to the patient.")
    else:
        messages.error(request, "Not sent: the patient has no email address or has not agreed "
                                "to receive messages.")
    return redirect("prrt:cycle", external_id=cycle.external_id)
