"""Referral pages: thin views that parse, call a service or selector, and show the result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_fsm import can_proceed, has_transition_perm

from netcare import audit
from netcare.access import role_required
from netcare.clock import centre_today
from netcare.models import Role
from netcare.workflow import TransitionError
from patients.forms import ImagingForm, LabPanelForm, PatientForm, TumourForm
from patients.records import eligibility_for
from referrals import selectors, services
from referrals.forms import NoteForm, ReferralForm, TransitionForm


def available_actions(referral, user) -> list[dict]:
    """The transitions this user can take now, for the buttons on the referral page."""
    actions = []
    for name, step in services.STEPS.items():
        method = getattr(referral, name)
        if can_proceed(method) and has_transition_perm(method, user):
            actions.append({"name": name, "label": step.label.capitalize(),
                            "reason_required": step.reason_required,
                            "needs_consult_time": name == "book_consult"})
    return actions


@role_required(Role.REFERRING_ONCOLOGIST)
def referral_new(request: HttpRequest) -> HttpResponse:
    forms = {
        "patient": PatientForm(request.POST or None, prefix="patient"),
        "tumour": TumourForm(request.POST or None, prefix="tumour"),
        "imaging": ImagingForm(request.POST or None, prefix="imaging"),
        "labs": LabPanelForm(request.POST or None, prefix="labs",
                             time_zone=request.user.centre.time_zone
                             if request.user.centre else "UTC"),
        "referral": ReferralForm(request.POST or None, prefix="referral"),
    }
    if request.method == "POST" and all(form.is_valid() for form in forms.values()):
        referral_data = forms["referral"].cleaned_data
        try:
            referral = services.referral_intake(
                actor=request.user, centre=referral_data["centre"],
                patient=forms["patient"].cleaned_data, tumour=forms["tumour"].cleaned_data,
                imaging=[forms["imaging"].cleaned_data], labs=forms["labs"].results,
                question=referral_data["question"], history=referral_data["history"],
                urgency=referral_data["urgency"], submit="submit" in request.POST,
            )
        except (ValidationError, TransitionError) as exc:
            messages.error(request, _error_text(exc))
        else:
            verb = "submitted" if referral.state == "submitted" else "saved as a draft"
            messages.success(request, f"Referral {verb}.")
            return redirect("referrals:detail", external_id=referral.external_id)
    elif request.method == "POST":
        messages.error(request, "Please correct the fields marked below; nothing was saved.")
    return render(request, "referrals/new.html", {"forms": forms},
                  status=400 if request.method == "POST" else 200)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, TransitionError):
        return exc.message
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(getattr(exc, "messages", [str(exc)]))


@login_required
def referral_detail(request: HttpRequest, external_id) -> HttpResponse:
    referral = selectors.referral_for(request.user, external_id)
    audit.record_view(actor=request.user, obj=referral, ip_address=audit.client_ip(request))
    context = {
        "referral": referral,
        "patient": referral.patient,
        "events": selectors.referral_timeline(referral),
        "notes": referral.notes.select_related("author"),
        "actions": available_actions(referral, request.user),
        "transition_form": TransitionForm(),
        "note_form": NoteForm(),
        "next_step": selectors.NEXT_STEP_FOR_REFERRER.get(referral.state, ""),
        "is_centre_side": request.user.role in (Role.SPECIALIST, Role.NAVIGATOR),
    }
    # The course a referral opened, through its reverse relation (the PRRT app sits above).
    try:
        context["course"] = referral.course
    except ObjectDoesNotExist:
        context["course"] = None
    context["can_open_course"] = (context["is_centre_side"] and context["course"] is None
                                  and referral.state in ("accepted", "consult_booked"))
    if context["is_centre_side"]:
        try:
            context["findings"] = eligibility_for(referral.patient,
                                                  today=centre_today(referral.centre))
        except ValueError as exc:  # records the rules refuse (e.g. a future scan date)
            context["findings_error"] = str(exc)
    return render(request, "referrals/detail.html", context)


@require_POST
@login_required
def referral_action(request: HttpRequest, external_id, action: str) -> HttpResponse:
    referral = selectors.referral_for(request.user, external_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _error_text(ValidationError(form.errors)))
        return redirect("referrals:detail", external_id=referral.external_id)
    try:
        services.referral_transition(
            referral=referral, name=action, actor=request.user,
            reason=form.cleaned_data["reason"], consult_at=form.cleaned_data["consult_at"],
        )
    except TransitionError as exc:
        messages.error(request, exc.message)
    else:
        step = services.STEPS[action]
        messages.success(request, f"Done: {step.label}.")
    return redirect("referrals:detail", external_id=referral.external_id)


@require_POST
@login_required
def referral_note(request: HttpRequest, external_id) -> HttpResponse:
    referral = selectors.referral_for(request.user, external_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.referral_note_add(referral=referral, author=request.user,
                                       body=form.cleaned_data["body"])
        except TransitionError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Message added.")
    else:
        messages.error(request, "Write a message first.")
    return redirect("referrals:detail", external_id=referral.external_id)


@role_required(Role.SPECIALIST, Role.NAVIGATOR)
def specialist_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "referrals/inbox.html",
                  {"trays": selectors.specialist_inbox(request.user)})
