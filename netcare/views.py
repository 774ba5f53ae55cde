"""Core pages: role home routing, the three role home pages and the health check."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from coordinators.selectors import tasks_held_by
from netcare import audit, health, throttle
from netcare.access import role_required
from netcare.clock import user_today
from netcare.forms import ThrottledAuthenticationForm
from netcare.models import AuditEvent, Role
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
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        throttle.clear_failures(form.get_user().get_username())
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
    return render(request, "netcare/specialist_home.html", {
        "trays": specialist_inbox(request.user), "cycles": approval_queue(request.user),
        "courses": eligibility_queue(request.user)})


@role_required(Role.REFERRING_ONCOLOGIST)
def oncologist_home(request: HttpRequest) -> HttpResponse:
    today = user_today(request.user)
    horizon = today + dt.timedelta(days=60)
    obligations: dict[int, list] = {}
    for task in tasks_held_by(request.user).filter(due__lte=horizon):
        obligations.setdefault(task.patient_id, []).append(task)
    patients = list(patients_with_latest_referral(request.user))
    for patient in patients:
        patient.next_step = NEXT_STEP_FOR_REFERRER.get(patient.referral_state, "")
        patient.referral_state_label = (ReferralState(patient.referral_state).label
                                        if patient.referral_state else "")
        patient.obligations = obligations.get(patient.pk, [])[:3]
    return render(request, "netcare/oncologist_home.html",
                  {"patients": patients, "today": today})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    result = health.status()
    healthy = all(value == "ok" for value in result.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **result},
                        status=200 if healthy else 503)
