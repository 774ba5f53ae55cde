"""The unmatched-results inbox pages, for the receiving centre's navigators: the list, one
result with its problem, and matching it to a patient or rejecting it with a reason."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from interop import codes
from interop.forms import MatchForm, RejectForm
from interop.inbox import inbox_entries, inbox_entry_for, inbox_match, inbox_reject
from interop.models import UnmatchedResult
from netcare import audit
from netcare.access import role_required
from netcare.models import Role

RECENT = 20


@role_required(Role.NAVIGATOR)
def inbox(request: HttpRequest) -> HttpResponse:
    entries = inbox_entries(request.user)
    waiting = list(entries.filter(state=UnmatchedResult.State.WAITING).order_by("created_at",
                                                                             "id"))
    resolved = list(entries.exclude(state=UnmatchedResult.State.WAITING)
                    .order_by("-resolved_at", "-id")[:RECENT])
    return render(request, "interop/inbox.html", {
        "centre": request.user.centre, "waiting": waiting, "resolved": resolved})


def _initial(entry: UnmatchedResult) -> dict:
    received = entry.received
    try:
        lln, uln = codes.parse_range(received.reference_range)
    except ValueError:
        lln = uln = None
    return {"mrn": received.mrn, "analyte": received.analyte or codes.analyte_for(
        received.loinc) or "", "value": received.value,
        "unit": codes.unit_for(received.unit) if codes.unit_for(received.unit) is not None
        else received.unit,
        "uln": "" if uln is None else str(uln), "lln": "" if lln is None else str(lln),
        "collected_at": received.collected_at}


def _page(request, entry, *, match_form=None, reject_form=None, status=200) -> HttpResponse:
    zone = request.user.centre.time_zone
    return render(request, "interop/entry.html", {
        "entry": entry, "received": entry.received, "message": entry.received.message,
        "match_form": match_form or MatchForm(initial=_initial(entry), time_zone=zone),
        "reject_form": reject_form or RejectForm(),
    }, status=status)


@role_required(Role.NAVIGATOR)
def entry(request: HttpRequest, entry_id) -> HttpResponse:
    found = inbox_entry_for(request.user, entry_id)
    audit.record_view(actor=request.user, obj=found, ip_address=audit.client_ip(request))
    return _page(request, found)


@require_POST
@role_required(Role.NAVIGATOR)
def match(request: HttpRequest, entry_id) -> HttpResponse:
    found = inbox_entry_for(request.user, entry_id)
    form = MatchForm(request.POST, time_zone=request.user.centre.time_zone)
    if form.is_valid():
        data = form.cleaned_data
        try:
            lab = inbox_match(actor=request.user, entry=found, mrn=data["mrn"],
                              analyte=data["analyte"], value=data["value"], unit=data["unit"],
                              collected_at=data["collected_at"], uln=data["uln"] or None,
                              lln=data["lln"] or None, note=data["note"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Matched: {lab} stored for patient "
                                      f"{lab.patient.mrn}.")
            return redirect("interop:inbox")
    messages.error(request, "The result was not matched: correct the fields marked below.")
    return _page(request, found, match_form=form, status=400)


@require_POST
@role_required(Role.NAVIGATOR)
def reject(request: HttpRequest, entry_id) -> HttpResponse:
    found = inbox_entry_for(request.user, entry_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            inbox_reject(actor=request.user, entry=found, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Rejected: the result stays in the inbox's history with "
                                      "your reason.")
            return redirect("interop:inbox")
    messages.error(request, "The result was not rejected: say why.")
    return _page(request, found, reject_form=form, status=400)
