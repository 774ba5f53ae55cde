"""The patient page: the record with its course, journey, administrations and open tasks, the
contact log and SSA injections, and the entry forms (labs, performance status, adverse events,
contacts, injections) and corrections (a lab marked in error, the primary oncologist).

It lives with the coordination app because it composes every layer below it (the record, the
PRRT course, the plan); its URLs keep the ``patients`` namespace."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_POST

from coordinators import patient_reads
from coordinators.contacts import contact_log_add
from coordinators.models import CareTask, TaskKind, TaskState
from coordinators.patient_forms import ContactLogForm, SSAInjectionForm
from netcare import audit
from netcare.clock import centre_today, centre_zone
from netcare.jinja2 import date as written_date
from netcare.jinja2 import render_fragment
from netcare.links import url_maker
from netcare.models import Role
from netcare.numbers import plain, unit_display
from patients import selectors, services
from patients.forms import (
    AdverseEventForm,
    LabInErrorForm,
    LabPanelForm,
    PerformanceStatusForm,
    PrimaryOncologistForm,
)
from patients.labview import lab_rows
from patients.models import LabResult
from patients.ranges import CentreRanges
from prrt.clinical import rules_config
from prrt.injections import ssa_injection_record
from prrt.journey import JourneyRecord, journey_for
from prrt.models import Administration, Cycle

# The contact log and the injections list show this many of the latest rows.
RECENT_ROWS = 100


# The lab results list (struck through when marked in error) shows this many of the latest.
RECENT_LABS = 200


def _lab_form(request, patient, data=None, ranges=None) -> LabPanelForm:
    return LabPanelForm(data, prefix="labs", time_zone=patient.centre.time_zone,
                        ranges=ranges if ranges is not None
                        else CentreRanges.cached(patient.centre_id))


def _ps_form(patient, data=None) -> PerformanceStatusForm:
    return PerformanceStatusForm(data, prefix="ps", today=centre_today(patient.centre))


def _is_centre_team(user, patient) -> bool:
    return user.role in (Role.NAVIGATOR, Role.SPECIALIST) and user.centre_id == patient.centre_id


def _open_tasks(patient, course=None) -> list[CareTask]:
    """The patient's open care tasks (of `course` only, when given), in due order (one query,
    owners joined)."""
    tasks = CareTask.objects.filter(patient=patient, state=TaskState.OPEN)
    if course is not None:
        tasks = tasks.filter(course=course)
    return list(tasks.select_related("owner_user")
                .order_by("due", "kind", "cycle", "sequence", "pk"))


def _contact_form(patient, tasks, data=None) -> ContactLogForm:
    return ContactLogForm(data, prefix="contact", tasks=tasks,
                          time_zone=patient.centre.time_zone)


def _ssa_form(patient, data=None) -> SSAInjectionForm:
    return SSAInjectionForm(data, prefix="ssa", time_zone=patient.centre.time_zone,
                            current_ssa=patient.current_ssa)


def _recent(rows: list) -> tuple[list, bool]:
    """The latest RECENT_ROWS of `rows` (read with one more), and whether there are more."""
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


# --- what the page writes of its rows, worked out once ------------------------------------------


class _Texts:
    """Days and times as the template's date filter writes them: a day through the days
    netcare.jinja2 remembers, a time in the centre's time zone `zone` (as inside
    {% timezone %}) written once per page (a panel's results share their time)."""

    def __init__(self, zone) -> None:
        self.zone, self._times = zone, {}

    def __call__(self, value, format_string: str, *, zone=None) -> str:
        """`value` (a day, or an aware time shown in `zone`, else the centre's) as written
        with `format_string`; "" for None."""
        if not isinstance(value, dt.datetime):
            return written_date(value, format_string)
        key = (value, format_string, zone)
        text = self._times.get(key)
        if text is None:
            text = self._times[key] = dateformat.format(
                timezone.localtime(value, zone or self.zone), format_string)
        return text


def _show_tasks(tasks: list[CareTask], today, texts: _Texts) -> None:
    """What the open care tasks table writes of each task: its title, due day (overdue, due
    today), the day a snooze ends, its owner and its appointment."""
    for task in tasks:
        task.title_text = task.title
        task.due_text = texts(task.due, "D j M Y")
        task.overdue, task.due_today = task.due < today, task.due == today
        task.snoozed_text = texts(task.snoozed_until, "j M")
        task.owner_text = (str(task.owner_user) if task.owner_user
                           else task.get_owner_party_display())
        task.appointment_text = texts(task.appointment_at, "D j M Y H:i")


def _show_cycles(cycles: list[Cycle], texts: _Texts) -> None:
    """What the cycles table writes of each cycle: its page, state, planned day and the dose
    given (its day in the server's time zone, as the table has always shown it)."""
    cycle_url = url_maker("prrt:cycle")
    for cycle in cycles:
        cycle.url = cycle_url(cycle.external_id)
        cycle.state_label = cycle.get_state_display()
        cycle.planned_text = texts(cycle.planned_date, "j M Y")
        cycle.given = _administration(cycle)
        cycle.given_text = "" if cycle.given is None else (
            f"{plain(cycle.given.activity_gbq)} GBq on "
            + texts(cycle.given.administered_at, "j M Y",
                    zone=timezone.get_current_timezone()))


_ANALYTES = dict(LabResult.Analyte.choices)


def _show_lab_results(patient, results: list[LabResult], ranges: CentreRanges, texts: _Texts,
                      in_error) -> None:
    """What the list of every result writes of each: its time, analyte, value, limits and, for
    a result not in error, where to mark it in error (`in_error`: the result and the form that
    failed to, shown with its errors; the others' blank form is written out by the
    template)."""
    in_error_url = url_maker("patients:lab-in-error", arity=2)
    for lab in results:
        lab.collected_text = texts(lab.collected_at, "j M Y H:i")
        lab.collected_day = texts(lab.collected_at, "j M Y")
        lab.analyte_label = _ANALYTES.get(lab.analyte, lab.analyte)
        lab.value_text = f"{plain(lab.value)} {unit_display(lab.unit or '')}"
        lab.limits_text = ranges.limits_for(lab).text(lab.unit)
        if lab.entered_in_error:
            lab.marked_text = texts(lab.marked_in_error_at, "j M Y")
        else:
            lab.in_error_url = in_error_url(patient.external_id, lab.external_id)
        lab.in_error_form = in_error[1] if in_error and in_error[0].pk == lab.pk else None


# The entry forms of the page, each in a <details>: built (and rendered in place) only when it
# is open (it came back with errors, or ?record=NAME asked for it); else fetched on demand.
ENTRY_FORMS = ("labs", "ae", "performance", "contact", "ssa", "primary")


def _entry_form(request, patient, name: str, *, tasks=None, ranges=None):
    """A fresh entry form `name` for `patient` (None for "primary" outside the centre's team)."""
    if name == "labs":
        return _lab_form(request, patient, ranges=ranges)
    if name == "ae":
        return AdverseEventForm(prefix="ae")
    if name == "performance":
        return _ps_form(patient)
    if name == "contact":
        return _contact_form(patient, _open_tasks(patient) if tasks is None else tasks)
    if name == "ssa":
        return _ssa_form(patient)
    if name == "primary" and _is_centre_team(request.user, patient):
        return PrimaryOncologistForm(
            prefix="primary", initial={"primary_oncologist": patient.primary_oncologist_id})
    return None


def _render_record(request, patient, *, lab_form=None, ae_form=None, contact_form=None,
                   ssa_form=None, ps_form=None, in_error=None, oncologist_form=None, tasks=None,
                   status=200):
    """The page; a form that failed comes back with its errors (`in_error`: the lab result
    and the form that tried to mark it in error). Each table is read once, in SQL, as a list
    of model instances with what they name joined (the template evaluates no queryset and
    follows no relation to the database); what the longer tables write of each row is worked
    out here once (_show_*); the journey is drawn from those lists."""
    today = centre_today(patient.centre)
    config = rules_config(patient.centre)
    ranges = CentreRanges.cached(patient.centre_id)
    known: dict = {}  # the people the lists name, one instance each
    results = selectors.lab_results_for(patient, limit=RECENT_LABS, known=known)
    labs = [lab for lab in results if not lab.entered_in_error]
    course, cycles = patient_reads.course_and_cycles(patient)
    if course is None:
        course_tasks = []
    elif tasks is None:
        course_tasks = patient_reads.course_tasks(patient, course, known)
    else:
        course_tasks = [task for task in tasks if task.course_id == course.pk]
    contacts, more_contacts = _recent(
        patient_reads.contacts(patient, known, limit=RECENT_ROWS + 1))
    injections, more_injections = _recent(
        patient_reads.injections(patient, known, limit=RECENT_ROWS + 1))
    imaging = selectors.imaging_for(patient)
    texts = _Texts(centre_zone(patient.centre))
    _show_tasks(course_tasks, today, texts)
    _show_cycles(cycles, texts)
    _show_lab_results(patient, results, ranges, texts, in_error)
    journey = None
    if course:
        # The journey draws the injections and lab days this page has read (the latest
        # RECENT_ROWS injections and RECENT_LABS results).
        record = JourneyRecord(cycles=cycles, injections=injections, imaging=imaging,
                               lab_times=[lab.collected_at for lab in labs])
        journey = journey_for(course, today=today, overdue_tasks=_overdue(course_tasks, today),
                              record=record)
    is_team = _is_centre_team(request.user, patient)
    forms = {"labs": lab_form, "ae": ae_form, "performance": ps_form, "contact": contact_form,
             "ssa": ssa_form, "primary": oncologist_form}
    asked = request.GET.get("record", "")
    if asked in forms and forms[asked] is None:
        forms[asked] = _entry_form(request, patient, asked, ranges=ranges)
    context = {
        "patient": patient,
        "today": today,
        "lab_rows": lab_rows(labs, config, ranges),
        "lab_results": results,
        "lab_results_open": any(lab.in_error_form is not None and lab.in_error_form.errors
                                for lab in results),
        "more_lab_results": len(results) == RECENT_LABS,
        "course": course,
        "cycles": cycles,
        "administered_cycles": [cycle for cycle in cycles if cycle.given],
        "journey": journey,
        "course_tasks": course_tasks,
        "imaging": imaging,
        **patient_reads.short_lists(patient, known),
        "contacts": contacts,
        "more_contacts": more_contacts,
        "ssa_injections": injections,
        "more_injections": more_injections,
        "lab_form": forms["labs"],
        "ps_form": forms["performance"],
        "ae_form": forms["ae"],
        "contact_form": forms["contact"],
        "ssa_form": forms["ssa"],
        "is_centre_team": is_team,
        "oncologist_form": forms["primary"] if is_team else None,
    }
    # The body in Jinja2 (templates/jinja2/patients/record.jinja): its rows repeat.
    context["record_html"] = render_fragment("patients/record.jinja", context, request)
    return render(request, "patients/detail.html", context, status=status)


@login_required
def patient_entry_form(request: HttpRequest, external_id, name: str) -> HttpResponse:
    """One entry form of the patient page, fetched when the reader opens it (htmx)."""
    patient = selectors.patient_record_for(request.user, external_id)
    form = _entry_form(request, patient, name) if name in ENTRY_FORMS else None
    if form is None:
        raise Http404("Not found.")
    return render(request, f"patients/_form_{name}.html", {"patient": patient, "form": form})


@login_required
def patient_detail(request: HttpRequest, external_id) -> HttpResponse:
    patient = selectors.patient_page_record_for(request.user, external_id)
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


@require_POST
@login_required
def performance_status_add(request: HttpRequest, external_id) -> HttpResponse:
    """Record a performance status assessment (ECOG or Karnofsky, its date, who assessed)."""
    patient = selectors.patient_record_for(request.user, external_id)
    form = _ps_form(patient, request.POST)
    if form.is_valid():
        try:
            services.performance_status_add(actor=request.user, patient=patient, **form.entry)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Performance status recorded.")
            return _page(patient, "performance")
    messages.error(request, "The performance status was not recorded: correct the fields "
                            "marked below.")
    return _render_record(request, patient, ps_form=form, status=400)


@require_POST
@login_required
def lab_mark_in_error(request: HttpRequest, external_id, lab_id) -> HttpResponse:
    """Mark one lab result in error, with why: it stays, struck through, out of the trend and
    the rules; a decision that used it is flagged on its cycle page."""
    patient = selectors.patient_record_for(request.user, external_id)
    lab = LabResult.objects.filter(patient=patient, external_id=lab_id).first()
    if lab is None:
        raise Http404("Not found.")
    form = LabInErrorForm(request.POST, prefix=f"err-{lab.external_id}")
    if form.is_valid():
        try:
            services.lab_result_mark_in_error(actor=request.user, result=lab,
                                              reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{lab.get_analyte_display()} of "
                                      f"{lab.collected_at:%d %b %Y} marked in error.")
            return _page(patient, "lab-results")
    problems = " ".join(message for errors in form.errors.values() for message in errors)
    messages.error(request, f"The result was not marked in error: {problems}")
    return _render_record(request, patient, in_error=(lab, form), status=400)


@require_POST
@login_required
def primary_oncologist_set(request: HttpRequest, external_id) -> HttpResponse:
    """The treating centre's team sets the oncologist near home (who then sees the record)."""
    patient = selectors.patient_record_for(request.user, external_id)
    if not _is_centre_team(request.user, patient):
        raise PermissionDenied("Only the treating centre's team sets the primary oncologist.")
    form = PrimaryOncologistForm(request.POST, prefix="primary")
    if form.is_valid():
        oncologist = form.cleaned_data["primary_oncologist"]
        try:
            services.patient_update(actor=request.user, patient=patient,
                                    data={"primary_oncologist": oncologist})
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Primary oncologist: {oncologist}; the team was told."
                             if oncologist else "The patient has no primary oncologist now.")
            return _page(patient, "h-identity")
    messages.error(request, "The primary oncologist was not changed: correct the field below.")
    return _render_record(request, patient, oncologist_form=form, status=400)
