"""Pages of the e-consults, NET contacts and bulletins: thin views that parse, call a service or
a scoped read (network.econsult, network.contacts, network.bulletins) and show the result.

An e-consult outside the user's scope is a 404 (a referring oncologist sees their own; a
centre's team those sent to it). Lists that name patients (an e-consult that became a referral)
are audited with audit.record_list; opening an e-consult is an audited view.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from netcare import audit
from netcare.clock import user_today
from netcare.models import Centre, Role
from netcare.workflow import TransitionError
from network import bulletins as bulletin_services
from network import contacts as contact_services
from network import econsult as econsult_services
from network.models import EConsultState, NetContact
from network.network_forms import (
    AnswerForm,
    BulletinForm,
    EConsultForm,
    NetContactForm,
    NetworkPracticeForm,
    ReasonForm,
    SubscriptionForm,
)
from patients.forms import ImagingForm, LabPanelForm, PatientForm, TumourForm
from referrals.forms import ReferralForm
from referrals.views import _error_text, _errors_on_forms, _performance_form

CENTRE_TEAM = (Role.SPECIALIST, Role.NAVIGATOR)


def _errors_to_form(form, exc: Exception) -> None:
    """A service's refusal beside the field it names (else at the top of the form)."""
    if isinstance(exc, TransitionError):
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return
    for field, field_messages in getattr(exc, "message_dict", {}).items():
        form.add_error(field if field in form.fields else None, field_messages)


def _own_centre(request: HttpRequest) -> Centre:
    centre = request.user.centre
    if centre is None or not centre.is_specialist_centre:
        raise PermissionDenied("This page is for the team of a NET specialist centre.")
    return centre


# --- e-consults -------------------------------------------------------------------------------


@login_required
def econsult_list(request: HttpRequest) -> HttpResponse:
    """The oncologist's own e-consults, or those sent to the user's centre: open ones first."""
    if request.user.role not in (Role.REFERRING_ONCOLOGIST, *CENTRE_TEAM):
        raise PermissionDenied("This page is not available for your role.")
    econsults = list(econsult_services.econsults_for(request.user))
    audit.record_list(request=request, what="network:econsults", patient_ids=[
        econsult.referral.patient.external_id for econsult in econsults if econsult.referral_id])
    is_open = [e for e in econsults if e.state in (EConsultState.ASKED, EConsultState.ANSWERED)]
    done = [e for e in econsults if e not in is_open]
    return render(request, "network/econsult_list.html", {
        "open": is_open, "done": done,
        "is_oncologist": request.user.role == Role.REFERRING_ONCOLOGIST})


@login_required
def econsult_new(request: HttpRequest) -> HttpResponse:
    """"Ask the centre": a referring oncologist's question with the key data."""
    if request.user.role != Role.REFERRING_ONCOLOGIST:
        raise PermissionDenied("Only a referring oncologist asks the centre.")
    form = EConsultForm(request.POST or None, today=user_today(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            econsult = econsult_services.econsult_ask(
                actor=request.user, centre=form.cleaned_data["centre"], data=form.summary())
        except (ValidationError, TransitionError) as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Your question was sent to the centre's NET contact.")
            return redirect("network:econsult", external_id=econsult.external_id)
    if request.method == "POST":
        messages.error(request, "Please correct the fields marked below; nothing was sent.")
    centres = list(form.fields["centre"].queryset)
    contacts = contact_services.contacts_by_centre(centres)
    return render(request, "network/econsult_new.html", {
        "form": form, "centre_contacts": [(c, contacts[c.pk]) for c in centres]},
        status=400 if request.method == "POST" else 200)


@login_required
def econsult_detail(request: HttpRequest, external_id) -> HttpResponse:
    econsult = econsult_services.econsult_for(request.user, external_id)
    audit.record_view(actor=request.user, obj=econsult, ip_address=audit.client_ip(request))
    steps = [name for name in econsult_services.available_steps(econsult, request.user)
             if name != "refer"]  # "Refer now" opens the referral form instead
    may_refer = True
    try:
        econsult_services.check_may_refer(actor=request.user, econsult=econsult)
    except TransitionError:
        may_refer = False
    return render(request, "network/econsult_detail.html", {
        "econsult": econsult, "steps": steps, "may_refer": may_refer,
        "events": econsult_services.econsult_timeline(econsult),
        "answer_form": AnswerForm(), "reason_form": ReasonForm(),
        "contacts": contact_services.contacts_of(econsult.centre),
        "labels": {name: step.label.capitalize()
                   for name, step in econsult_services.STEPS.items()}})


@require_POST
@login_required
def econsult_action(request: HttpRequest, external_id, action: str) -> HttpResponse:
    """Answer, close or withdraw (refer has its page: the referral form)."""
    econsult = econsult_services.econsult_for(request.user, external_id)
    if action not in econsult_services.STEPS or action == "refer":
        raise Http404("No such action.")
    form = (AnswerForm if action == "answer" else ReasonForm)(request.POST)
    if not form.is_valid():
        messages.error(request, _error_text(ValidationError(form.errors)))
        return redirect("network:econsult", external_id=econsult.external_id)
    try:
        econsult_services.econsult_transition(
            econsult=econsult, name=action, actor=request.user,
            answer=form.cleaned_data.get("answer", ""),
            reason=form.cleaned_data.get("reason", ""))
    except TransitionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Done: {econsult_services.STEPS[action].label}.")
    return redirect("network:econsult", external_id=econsult.external_id)


def _referral_forms(request, econsult, data=None) -> dict:
    """The new-referral form's parts, filled from the e-consult (GET) or as sent (POST); the
    referral goes to the centre asked."""
    initial = econsult_services.referral_initial(econsult)
    zone = request.user.centre.time_zone if request.user.centre else "UTC"
    forms = {
        "patient": PatientForm(data, prefix="patient", initial=initial["patient"]),
        "tumour": TumourForm(data, prefix="tumour", initial=initial["tumour"]),
        "imaging": ImagingForm(data, prefix="imaging", initial=initial["imaging"]),
        "labs": LabPanelForm(data, prefix="labs", time_zone=zone, initial=initial["labs"]),
        "performance": _performance_form(request, data),
        "referral": ReferralForm(data, prefix="referral", initial=initial["referral"]),
    }
    forms["referral"].fields["centre"].queryset = Centre.objects.filter(pk=econsult.centre_id)
    forms["referral"].fields["centre"].help_text = "The centre you asked."
    return forms


@login_required
def econsult_refer(request: HttpRequest, external_id) -> HttpResponse:
    """"Refer now": the new-referral form pre-filled with everything the e-consult holds; the
    oncologist adds who the patient is (and any labs with values) and submits or saves a draft.
    The e-consult is closed with the referral it became."""
    econsult = econsult_services.econsult_for(request.user, external_id)
    try:
        econsult_services.check_may_refer(actor=request.user, econsult=econsult)
    except TransitionError as exc:
        messages.error(request, exc.message)
        return redirect("network:econsult", external_id=econsult.external_id)
    forms = _referral_forms(request, econsult, request.POST if request.method == "POST" else None)
    if request.method == "POST" and all(form.is_valid() for form in forms.values()):
        data = forms["referral"].cleaned_data
        try:
            referral = econsult_services.econsult_refer(
                actor=request.user, econsult=econsult, submit="submit" in request.POST,
                intake={"patient": forms["patient"].cleaned_data,
                        "tumour": forms["tumour"].cleaned_data,
                        "imaging": [forms["imaging"].cleaned_data],
                        "labs": forms["labs"].results,
                        "performance": forms["performance"].entry,
                        "question": data["question"], "history": data["history"],
                        "urgency": data["urgency"]})
        except (ValidationError, TransitionError) as exc:
            _errors_on_forms(forms, exc)
            messages.error(request, _error_text(exc))
        else:
            verb = "submitted" if referral.state == "submitted" else "saved as a draft"
            messages.success(request, f"Referral {verb} from the e-consult.")
            return redirect("referrals:detail", external_id=referral.external_id)
    elif request.method == "POST":
        messages.error(request, "Please correct the fields marked below; nothing was saved.")
    return render(request, "network/econsult_refer.html", {"forms": forms, "econsult": econsult},
                  status=400 if request.method == "POST" else 200)


# --- NET contacts and the network -------------------------------------------------------------


def _contacts_page(request, centre, *, contact_form=None, practice_form=None, status=200):
    return render(request, "network/contact_list.html", {
        "centre": centre,
        "contacts": list(NetContact.objects.filter(centre=centre).select_related("user")),
        "contact_form": contact_form or NetContactForm(centre=centre, prefix="contact"),
        "practices": list(contact_services.network_practices(centre)),
        "practice_form": practice_form or NetworkPracticeForm(prefix="practice"),
    }, status=status)


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    """The centre's NET contacts and navigators, and its referring network; add either."""
    if request.user.role not in CENTRE_TEAM:
        raise PermissionDenied("This page is for the centre's team.")
    centre = _own_centre(request)
    if request.method != "POST":
        return _contacts_page(request, centre)
    if "practice-practice" in request.POST:
        form = NetworkPracticeForm(request.POST, prefix="practice")
        if form.is_valid():
            try:
                contact_services.network_practice_add(
                    actor=request.user, centre=centre, practice=form.cleaned_data["practice"])
            except TransitionError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, "Practice added to the network.")
                return redirect("network:contacts")
        return _contacts_page(request, centre, practice_form=form, status=400)
    form = NetContactForm(request.POST, centre=centre, prefix="contact")
    if form.is_valid():
        try:
            contact_services.contact_add(actor=request.user, centre=centre,
                                         data=form.cleaned_data)
        except (ValidationError, TransitionError) as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Contact added.")
            return redirect("network:contacts")
    messages.error(request, "Please correct the fields marked below; nothing was saved.")
    return _contacts_page(request, centre, contact_form=form, status=400)


@login_required
def contact_edit(request: HttpRequest, external_id) -> HttpResponse:
    if request.user.role not in CENTRE_TEAM:
        raise PermissionDenied("This page is for the centre's team.")
    centre = _own_centre(request)
    contact = contact_services.contact_for(request.user, external_id)
    form = NetContactForm(request.POST or None, centre=centre, instance=contact,
                          prefix="contact")
    if request.method == "POST" and form.is_valid():
        try:
            contact_services.contact_update(actor=request.user, contact=contact,
                                            data=form.cleaned_data)
        except (ValidationError, TransitionError) as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Contact saved.")
            return redirect("network:contacts")
    if request.method == "POST":
        messages.error(request, "Please correct the fields marked below; nothing was saved.")
    return render(request, "network/contact_edit.html", {"form": form, "contact": contact},
                  status=400 if request.method == "POST" else 200)


# --- bulletins --------------------------------------------------------------------------------


@login_required
def bulletin_list(request: HttpRequest) -> HttpResponse:
    """A referring oncologist: the current bulletins of their network and the email choice;
    the centre's team: every bulletin of the centre."""
    role = request.user.role
    if role not in (Role.REFERRING_ONCOLOGIST, *CENTRE_TEAM):
        raise PermissionDenied("This page is not available for your role.")
    is_oncologist = role == Role.REFERRING_ONCOLOGIST
    if is_oncologist:
        shown = bulletin_services.current_bulletins(request.user)
        subscription = bulletin_services.subscription_of(request.user)
        form = SubscriptionForm(initial={"by_email": bool(subscription and subscription.by_email)})
    else:
        shown, form = bulletin_services.bulletins_for(request.user), None
    return render(request, "network/bulletin_list.html", {
        "bulletins": list(shown), "is_oncologist": is_oncologist, "subscription_form": form})


@login_required
def bulletin_new(request: HttpRequest) -> HttpResponse:
    if request.user.role not in CENTRE_TEAM:
        raise PermissionDenied("Only the centre's team publishes bulletins.")
    centre = _own_centre(request)
    form = BulletinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            bulletin = bulletin_services.bulletin_publish(actor=request.user, centre=centre,
                                                          **form.cleaned_data)
        except (ValidationError, TransitionError) as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Bulletin published to your referring network.")
            return redirect("network:bulletin", external_id=bulletin.external_id)
    if request.method == "POST":
        messages.error(request, "Please correct the fields marked below; nothing was published.")
    return render(request, "network/bulletin_new.html", {
        "form": form, "practices": contact_services.network_practices(centre).count()},
        status=400 if request.method == "POST" else 200)


@login_required
def bulletin_detail(request: HttpRequest, external_id) -> HttpResponse:
    bulletin = bulletin_services.bulletin_for(request.user, external_id)
    return render(request, "network/bulletin_detail.html", {"bulletin": bulletin})


@require_POST
@login_required
def bulletin_subscription(request: HttpRequest) -> HttpResponse:
    if request.user.role != Role.REFERRING_ONCOLOGIST:
        raise PermissionDenied("Bulletins by email are for referring oncologists.")
    form = SubscriptionForm(request.POST)
    form.is_valid()  # a checkbox: absent is "no"
    bulletin_services.subscription_set(actor=request.user,
                                       by_email=form.cleaned_data.get("by_email", False))
    messages.success(request, "You will get each new bulletin by email."
                     if form.cleaned_data.get("by_email") else
                     "You will see bulletins here only, not by email.")
    return redirect("network:bulletins")
