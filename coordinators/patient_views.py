"""The patient page: the record with its course, journey and open tasks, and the record's entry
forms (labs, adverse events).

It lives with the coordination app because it composes every layer below it (the record, the
PRRT course, the plan); its URLs keep the ``patients`` namespace."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coordinators.models import CareTask, TaskKind, TaskState
from netcare import audit
from netcare.clock import centre_today
from patients import selectors, services
from patients.forms import AdverseEventForm, LabPanelForm
from patients.labview import lab_rows
from prrt.clinical import rules_config
from prrt.journey import journey_for
from prrt.models import TreatmentCourse


def _lab_form(request, patient, data=None) -> LabPanelForm:
    return LabPanelForm(data, prefix="labs", time_zone=patient.centre.time_zone)


def _overdue(course, today) -> list[tuple[str, object]]:
    """Open care tasks of the course past their due day, for the journey picture."""
    tasks = CareTask.objects.filter(course=course, state=TaskState.OPEN, due__lt=today).exclude(
        kind=TaskKind.INFUSION)  # infusions are drawn from the cycles themselves
    return [(task.kind, task.title, task.due) for task in tasks]


def _render_record(request, patient, *, lab_form=None, ae_form=None, status=200):
    today = centre_today(patient.centre)
    config = rules_config(patient.centre)
    labs = list(patient.labs.filter(entered_in_error=False).order_by("-collected_at", "-id")[:200])
    course = (TreatmentCourse.objects.filter(patient=patient).select_related("centre")
              .order_by("-created_at").first())
    context = {
        "patient": patient,
        "lab_rows": lab_rows(labs, config),
        "course": course,
        "cycles": list(course.cycles.select_related("administration")) if course else [],
        "journey": journey_for(course, today=today, overdue_tasks=_overdue(course, today))
        if course else None,
        "imaging": patient.imaging.all(),
        "adverse_events": patient.adverse_events.select_related("reported_by"),
        "referrals": patient.referrals.select_related("centre").order_by("-created_at"),
        "lab_form": lab_form or _lab_form(request, patient),
        "ae_form": ae_form or AdverseEventForm(prefix="ae"),
    }
    return render(request, "patients/detail.html", context, status=status)


@login_required
def patient_detail(request: HttpRequest, external_id) -> HttpResponse:
    patient = selectors.patient_record_for(request.user, external_id)
    audit.record_view(actor=request.user, obj=patient, ip_address=audit.client_ip(request))
    return _render_record(request, patient)


@require_POST
@login_required
def lab_panel_add(request: HttpRequest, external_id) -> HttpResponse:
    patient = selectors.patient_record_for(request.user, external_id)
    form = _lab_form(request, patient, request.POST)
    if form.is_valid() and not form.results:
        form.add_error(None, "Enter at least one lab value.")
    if not form.is_valid():
        messages.error(request, "The labs were not saved: correct the fields marked below.")
        return _render_record(request, patient, lab_form=form, status=400)
    services.lab_panel_add(actor=request.user, patient=patient, results=form.results)
    messages.success(request, f"{len(form.results)} lab results saved.")
    return redirect("patients:detail", external_id=patient.external_id)


@require_POST
@login_required
def adverse_event_add(request: HttpRequest, external_id) -> HttpResponse:
    patient = selectors.patient_record_for(request.user, external_id)
    form = AdverseEventForm(request.POST, prefix="ae")
    if not form.is_valid():
        messages.error(request, "The adverse event was not saved: correct the fields below.")
        return _render_record(request, patient, ae_form=form, status=400)
    try:
        services.adverse_event_report(actor=request.user, patient=patient, **form.cleaned_data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _render_record(request, patient, ae_form=form, status=400)
    messages.success(request, "Adverse event reported; the treating team has been notified.")
    return redirect("patients:detail", external_id=patient.external_id)
