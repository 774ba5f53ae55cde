"""The patient page: the record with its course, journey, administrations and open tasks, the
contact log and SSA injections, and the entry forms (labs, adverse events, contacts, injections).

It lives with the coordination app because it composes every layer below it (the record, the
PRRT course, the plan); its URLs keep the ``patients`` namespace."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from coordinators.contacts import contact_log_add
from coordinators.models import CareTask, TaskKind, TaskState
from coordinators.patient_forms import ContactLogForm, SSAInjectionForm
from netcare import audit
from netcare.clock import centre_today
from patients import selectors, services
from patients.forms import AdverseEventForm, LabPanelForm
from patients.labview import lab_rows
from prrt.clinical import rules_config
from prrt.injections import ssa_injection_record
from prrt.journey import journey_for
from prrt.models import Administration, TreatmentCourse

# The contact log and the injections list show this many of the latest rows.
RECENT_ROWS = 100


def _lab_form(request, patient, data=None) -> LabPanelForm:
    return LabPanelForm(data, prefix="labs", time_zone=patient.centre.time_zone)


def _open_tasks(patient) -> list[CareTask]:
    """The patient's open care tasks, in due order (one query, owners joined)."""
    return list(CareTask.objects.filter(patient=patient, state=TaskState.OPEN)
                .select_related("owner_user").order_by("due", "kind", "cycle", "sequence", "pk"))


def _contact_form(patient, tasks, data=None) -> ContactLogForm:
    return ContactLogForm(data, prefix="contact", tasks=tasks,
                          time_zone=patient.centre.time_zone)


def _ssa_form(patient, data=None) -> SSAInjectionForm:
    return SSAInjectionForm(data, prefix="ssa", time_zone=patient.centre.time_zone,
                            current_ssa=patient.current_ssa)


def _recent(queryset) -> tuple[list, bool]:
    """The latest RECENT_ROWS rows, and whether there are more."""
    rows = list(queryset[:RECENT_ROWS + 1])
    return rows[:RECENT_ROWS], len(rows) > RECENT_ROWS


def _form_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError beside the fields it names (else above the form)."""
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _page(patient, anchor: str):
    return redirect(f"{reverse('patients:detail', args=[patient.external_id])}#{anchor}")


def _administration(cycle) -> Administration | None:
    """The cycle's administration (joined by select_related), or None before the infusion."""
    try:
        return cycle.administration
    except Administration.DoesNotExist:
        return None


def _overdue(course_tasks: list[CareTask], today) -> list[tuple[str, object]]:
    """Open care tasks of the course past their due day, for the journey picture."""
    return [(task.kind, task.title, task.due) for task in course_tasks
            if task.due < today and task.kind != TaskKind.INFUSION]  # infusions: from the cycles


def _render_record(request, patient, *, lab_form=None, ae_form=None, contact_form=None,
                   ssa_form=None, tasks=None, status=200):
    today = centre_today(patient.centre)
    config = rules_config(patient.centre)
    labs = list(patient.labs.filter(entered_in_error=False).order_by("-collected_at", "-id")[:200])
    course = (TreatmentCourse.objects.filter(patient=patient).select_related("centre")
              .order_by("-created_at").first())
    cycles = list(course.cycles.select_related("administration")) if course else []
    tasks = _open_tasks(patient) if tasks is None else tasks
    course_tasks = [task for task in tasks if course and task.course_id == course.pk]
    contacts, more_contacts = _recent(patient.contacts.select_related("task", "recorded_by"))
    injections, more_injections = _recent(patient.ssa_injections.select_related("recorded_by"))
    context = {
        "patient": patient,
        "today": today,
        "lab_rows": lab_rows(labs, config),
        "course": course,
        "cycles": cycles,
        "administered_cycles": [cycle for cycle in cycles if _administration(cycle)],
        "journey": journey_for(course, today=today,
                               overdue_tasks=_overdue(course_tasks, today)) if course else None,
        "course_tasks": course_tasks,
        "imaging": patient.imaging.all(),
        "adverse_events": patient.adverse_events.select_related("reported_by"),
        "referrals": patient.referrals.select_related("centre").order_by("-created_at"),
        "contacts": contacts,
        "more_contacts": more_contacts,
        "ssa_injections": injections,
        "more_injections": more_injections,
        "lab_form": lab_form or _lab_form(request, patient),
        "ae_form": ae_form or AdverseEventForm(prefix="ae"),
        "contact_form": contact_form or _contact_form(patient, tasks),
        "ssa_form": ssa_form or _ssa_form(patient),
        # The oncologist's home links to the open injection form (?record=ssa).
        "ssa_form_open": ssa_form is not None or request.GET.get("record") == "ssa",
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
    if form.is_valid() and not form.results and form.pregnancy is None:
        form.add_error(None, "Enter at least one lab value.")
    if form.is_valid():
        try:
            services.lab_panel_add(actor=request.user, patient=patient, results=form.results,
                                   pregnancy=form.pregnancy)
        except ValidationError as exc:
            _form_errors(form, exc)
    if not form.is_valid():
        messages.error(request, "The labs were not saved: correct the fields marked below.")
        return _render_record(request, patient, lab_form=form, status=400)
    if form.results:
        messages.success(request, f"{len(form.results)} lab results saved.")
    if form.pregnancy is not None:
        patient.refresh_from_db(fields=["pregnancy"])
        messages.success(request, f"Pregnancy: {patient.get_pregnancy_display().lower()}, "
                                  "recorded.")
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


@require_POST
@login_required
def contact_add(request: HttpRequest, external_id) -> HttpResponse:
    """Add an entry to the patient's contact log (optionally for one of their open tasks)."""
    patient = selectors.patient_record_for(request.user, external_id)
    tasks = _open_tasks(patient)
    form = _contact_form(patient, tasks, request.POST)
    if form.is_valid():
        try:
            contact_log_add(actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Contact logged.")
            return _page(patient, "contacts")
    messages.error(request, "The contact was not logged: correct the fields marked below.")
    return _render_record(request, patient, contact_form=form, tasks=tasks, status=400)


@require_POST
@login_required
def ssa_injection_add(request: HttpRequest, external_id) -> HttpResponse:
    """Record an SSA injection (a long-acting one moves the last long-acting injection day)."""
    patient = selectors.patient_record_for(request.user, external_id)
    form = _ssa_form(patient, request.POST)
    if form.is_valid():
        try:
            injection = ssa_injection_record(actor=request.user, patient=patient,
                                             **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{injection.get_agent_display()} injection recorded.")
            return _page(patient, "ssa-injections")
    messages.error(request, "The injection was not recorded: correct the fields marked below.")
    return _render_record(request, patient, ssa_form=form, status=400)
