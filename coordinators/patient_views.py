"""The patient page: the record with its course, journey, administrations and open tasks, the
contact log and SSA injections, and the entry forms (labs, performance status, adverse events,
contacts, injections) and corrections (a lab marked in error, the primary oncologist).

It lives with the coordination app because it composes every layer below it (the record, the
PRRT course, the plan); its URLs keep the ``patients`` namespace."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Model, OuterRef, Subquery
from django.db.models.functions import JSONObject
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from coordinators.contacts import contact_log_add
from coordinators.models import CareTask, TaskKind, TaskState
from coordinators.patient_forms import ContactLogForm, SSAInjectionForm
from netcare import audit
from netcare.clock import centre_today
from netcare.models import Centre, Role, User
from patients import selectors, services
from patients.forms import (
    AdverseEventForm,
    LabInErrorForm,
    LabPanelForm,
    PerformanceStatusForm,
    PrimaryOncologistForm,
)
from patients.labview import lab_rows
from patients.models import AdverseEvent, LabResult, Patient, PerformanceStatus
from patients.ranges import CentreRanges
from prrt.clinical import rules_config
from prrt.injections import ssa_injection_record
from prrt.journey import JourneyRecord, journey_for
from prrt.models import Administration, Cycle, TreatmentCourse
from referrals.models import Referral

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


def _course_and_cycles(patient) -> tuple[TreatmentCourse | None, list]:
    """The patient's latest course and its cycles, each cycle with its administration and
    decisions: the cycles with their course in one query (a second only for a course without
    cycles yet), the decisions in one more."""
    latest = (TreatmentCourse.objects.filter(patient=patient)
              .order_by("-created_at", "-pk").values("pk")[:1])
    cycles = list(Cycle.objects.filter(course_id=Subquery(latest))
                  .select_related("course__centre", "administration")
                  .prefetch_related("decisions").order_by("number"))
    if cycles:
        course = cycles[0].course
        for cycle in cycles:
            cycle.course = course  # one course object, as course.cycles would give
        return course, cycles
    course = (TreatmentCourse.objects.filter(patient=patient).select_related("centre")
              .order_by("-created_at", "-pk").first())
    return course, []


# The patient's short lists, read together (see _short_lists): per list, the model, the fields the
# page shows and the one related row it names ("field": (model, fields of it)).
SHORT_LISTS = {
    "performance": (PerformanceStatus.objects.order_by("-assessed_on", "-id"),
                    ("id", "scale", "value", "assessed_on", "assessed_by"),
                    {"entered_by": (User, ("first_name", "last_name", "username"))}),
    "adverse_events": (AdverseEvent.objects.order_by("-onset_on", "-id"),
                       ("id", "term", "category", "ctcae_grade", "onset_on"),
                       {"reported_by": (User, ("first_name", "last_name", "username"))}),
    "referrals": (Referral.objects.order_by("-created_at", "-id"),
                  ("id", "external_id", "state", "created_at"),
                  {"centre": (Centre, ("name",))}),
}


def _short_lists(patient) -> dict[str, list]:
    """The patient's performance status assessments, adverse events and referrals in one query:
    each list an array of JSON rows (the fields the page shows) beside the patient's id, read
    back as unsaved model instances, for display only."""
    arrays = {}
    for name, (queryset, fields, related) in SHORT_LISTS.items():
        row = {field: F(field) for field in fields}
        for field, (_, columns) in related.items():
            row[field] = JSONObject(**{column: F(f"{field}__{column}") for column in columns})
        arrays[f"{name}_rows"] = ArraySubquery(
            queryset.filter(patient=OuterRef("pk")).values(row=JSONObject(**row)))
    read = Patient.objects.filter(pk=patient.pk).values(**arrays).get()
    return {name: [_instance(queryset.model, row, related) for row in read[f"{name}_rows"]]
            for name, (queryset, _, related) in SHORT_LISTS.items()}


def _instance(model: type[Model], row: dict, related: dict) -> Model:
    """An unsaved `model` from a JSON row: each value through its field's to_python (dates,
    times, UUIDs come back as text), a related row as an instance of its model."""
    values = {}
    for name, value in row.items():
        if name in related:
            other, _ = related[name]
            values[name] = _instance(other, value, {})
        else:
            values[name] = model._meta.get_field(name).to_python(value)
    return model(**values)


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
    and the form that tried to mark it in error). Each table is read once, as a list (the
    template evaluates no queryset), and the journey is drawn from those lists."""
    today = centre_today(patient.centre)
    config = rules_config(patient.centre)
    ranges = CentreRanges.cached(patient.centre_id)
    results = list(patient.labs.select_related("entered_by", "marked_in_error_by")
                   .order_by("-collected_at", "-id")[:RECENT_LABS])
    labs = [lab for lab in results if not lab.entered_in_error]
    course, cycles = _course_and_cycles(patient)
    if course is None:
        course_tasks = []
    else:
        tasks = _open_tasks(patient, course) if tasks is None else tasks
        course_tasks = [task for task in tasks if task.course_id == course.pk]
    contacts, more_contacts = _recent(patient.contacts.select_related("task", "recorded_by"))
    injections, more_injections = _recent(patient.ssa_injections.select_related("recorded_by"))
    imaging = list(patient.imaging.all())
    for lab in results:
        lab.limits_text = ranges.limits_for(lab).text(lab.unit)
        # Only the form that failed is built; the others are written out by the template.
        lab.in_error_form = in_error[1] if in_error and in_error[0].pk == lab.pk else None
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
        "more_lab_results": len(results) == RECENT_LABS,
        "course": course,
        "cycles": cycles,
        "administered_cycles": [cycle for cycle in cycles if _administration(cycle)],
        "journey": journey,
        "course_tasks": course_tasks,
        "imaging": imaging,
        **_short_lists(patient),
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
