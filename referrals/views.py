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
from netcare.clock import user_today
from netcare.models import Role
from netcare.workflow import TransitionError
from patients.forms import (
    ImagingForm,
    LabPanelForm,
    PatientForm,
    PerformanceStatusForm,
    TumourForm,
)
from patients.ranges import CentreRanges
from referrals import drafts, selectors, services
from referrals.eligibility import eligibility_context
from referrals.forms import NoteForm, ReferralDraftForm, ReferralForm, TransitionForm


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


def _performance_form(request, data=None, **kwargs) -> PerformanceStatusForm:
    return PerformanceStatusForm(data, prefix="performance", optional=True,
                                 today=user_today(request.user), **kwargs)


@role_required(Role.REFERRING_ONCOLOGIST)
def referral_new(request: HttpRequest) -> HttpResponse:
    forms = {
        "patient": PatientForm(request.POST or None, prefix="patient"),
        "tumour": TumourForm(request.POST or None, prefix="tumour"),
        "imaging": ImagingForm(request.POST or None, prefix="imaging"),
        "labs": LabPanelForm(request.POST or None, prefix="labs",
                             time_zone=request.user.centre.time_zone
                             if request.user.centre else "UTC"),
        "performance": _performance_form(request, request.POST or None),
        "referral": ReferralForm(request.POST or None, prefix="referral"),
    }
    if request.method == "POST" and all(form.is_valid() for form in forms.values()):
        referral_data = forms["referral"].cleaned_data
        try:
            referral = services.referral_intake(
                actor=request.user, centre=referral_data["centre"],
                patient=forms["patient"].cleaned_data, tumour=forms["tumour"].cleaned_data,
                imaging=[forms["imaging"].cleaned_data], labs=forms["labs"].results,
                performance=forms["performance"].entry,
                question=referral_data["question"], history=referral_data["history"],
                urgency=referral_data["urgency"], submit="submit" in request.POST,
            )
        except (ValidationError, TransitionError) as exc:
            _errors_on_forms(forms, exc)
            messages.error(request, _error_text(exc))
        else:
            verb = "submitted" if referral.state == "submitted" else "saved as a draft"
            messages.success(request, f"Referral {verb}.")
            return redirect("referrals:detail", external_id=referral.external_id)
    elif request.method == "POST":
        messages.error(request, "Please correct the fields marked below; nothing was saved.")
    return render(request, "referrals/new.html", {"forms": forms},
                  status=400 if request.method == "POST" else 200)


def _errors_on_forms(forms: dict, exc: Exception) -> None:
    """A service's error named ``patient.weight_kg`` or ``labs[1].unit`` beside its field."""
    for name, messages_ in getattr(exc, "message_dict", {}).items():
        part, _, field = name.partition(".")
        form = forms.get(part.split("[")[0])
        if form is None:
            continue
        if part.startswith("labs["):
            index = int(part[5:-1])
            results = getattr(form, "results", [])
            analyte = results[index]["analyte"] if index < len(results) else ""
            target = f"{analyte}_{field}" if f"{analyte}_{field}" in form.fields else None
            if analyte == "prothrombin_ratio_percent":
                target = analyte
        else:
            target = field if field in form.fields else None
        form.add_error(target, messages_)


def _draft_forms(request, referral, data=None) -> dict:
    """The forms of the draft: filled from its records (GET), or with what was sent (POST)."""
    patient = referral.patient
    # Read and shown in the zone the new-referral form used: the oncologist's own.
    zone = request.user.centre.time_zone if request.user.centre else "UTC"
    ranges = CentreRanges.of(referral.centre_id)
    if data is not None:
        return {
            "patient": PatientForm(data, prefix="patient"),
            "tumour": TumourForm(data, prefix="tumour"),
            "imaging": ImagingForm(data, prefix="imaging"),
            "labs": LabPanelForm(data, prefix="labs", time_zone=zone, ranges=ranges),
            "performance": _performance_form(request, data),
            "referral": ReferralDraftForm(data, prefix="referral"),
        }
    assessment = drafts.draft_performance(patient)
    return {
        "patient": PatientForm(prefix="patient", instance=patient),
        "tumour": TumourForm(prefix="tumour", instance=getattr(patient, "tumour", None)),
        "imaging": ImagingForm(prefix="imaging", instance=drafts.draft_imaging(patient)),
        "labs": LabPanelForm(prefix="labs", time_zone=zone, ranges=ranges,
                             initial=LabPanelForm.initial_from(drafts.draft_labs(patient), zone)),
        "performance": _performance_form(request, initial={
            "scale": assessment.scale, "value": assessment.value,
            "assessed_on": assessment.assessed_on, "assessed_by": assessment.assessed_by,
        } if assessment else None),
        "referral": ReferralDraftForm(prefix="referral", instance=referral),
    }


@role_required(Role.REFERRING_ONCOLOGIST)
def referral_edit(request: HttpRequest, external_id) -> HttpResponse:
    """Change any part of a draft referral (patient, tumour, imaging, labs, performance status,
    the question), then save it or submit it; nothing is saved unless all of it is valid."""
    referral = selectors.referral_for(request.user, external_id)
    try:
        drafts.check_draft_editable(actor=request.user, referral=referral)
    except TransitionError as exc:
        messages.error(request, exc.message)
        return redirect("referrals:detail", external_id=referral.external_id)
    forms = _draft_forms(request, referral, request.POST if request.method == "POST" else None)
    if request.method == "POST" and all(form.is_valid() for form in forms.values()):
        data = forms["referral"].cleaned_data
        try:
            referral = drafts.referral_draft_update(
                actor=request.user, referral=referral, patient=forms["patient"].cleaned_data,
                tumour=forms["tumour"].cleaned_data, imaging=forms["imaging"].cleaned_data,
                labs=forms["labs"].results, performance=forms["performance"].entry,
                question=data["question"], history=data["history"], urgency=data["urgency"],
                submit="submit" in request.POST)
        except (ValidationError, TransitionError) as exc:
            _errors_on_forms(forms, exc)
            messages.error(request, f"Nothing was saved: {_error_text(exc)}")
        else:
            verb = "submitted" if referral.state == "submitted" else "saved"
            messages.success(request, f"Draft referral {verb}.")
            return redirect("referrals:detail", external_id=referral.external_id)
    elif request.method == "POST":
        messages.error(request, "Please correct the fields marked below; nothing was saved.")
    return render(request, "referrals/edit.html",
                  {"forms": forms, "referral": referral, "patient": referral.patient},
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
    context["can_edit_draft"] = (referral.state == "draft"
                                 and request.user.pk == referral.referring_oncologist_id)
    context.update(eligibility_context(referral.patient, referral.centre, context["course"],
                                       live=context["is_centre_side"]))
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
    trays = selectors.specialist_inbox(request.user)
    audit.record_list(request=request, what="referral-inbox",
                      patient_ids=audit.patients_named(r for tray in trays.values() for r in tray))
    return render(request, "referrals/inbox.html", {"trays": trays})
