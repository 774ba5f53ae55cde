"""The coordination dashboard (/analytics/), each figure's CSV and the drill-down from a bar to
the patients behind it.

Navigators and NET specialists (and a centre administrator whose centre is a specialist
centre) see their centre's figures and may narrow them to one referring practice; a referring
oncologist sees their own practice's figures only. A practice's aggregates never show a count of
patients below 5. The drill-down lists only the patients the viewer may see (netcare.access),
audited as a list read; a CSV is audited as an export."""

from __future__ import annotations

import csv
import zoneinfo
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET

from analytics.charts import bar_chart
from analytics.display import csv_rows, table
from analytics.figures import FIGURES
from analytics.forms import FiltersForm
from analytics.period import Scope
from analytics.shapes import UnknownBar
from netcare import audit
from netcare.access import scope_to_patients
from netcare.clock import user_today
from netcare.models import Centre, Role
from patients.models import Patient


@dataclass(frozen=True)
class Viewer:
    """Whose figures a user sees: a specialist centre's (with a choice of practice), or one
    referring practice's (fixed)."""

    centre: Centre | None
    practice: Centre | None
    may_see_patients: bool

    @property
    def home(self) -> Centre:
        return self.centre or self.practice


def viewer_of(user) -> Viewer:
    centre = user.centre
    if user.role in (Role.NAVIGATOR, Role.SPECIALIST, Role.ADMINISTRATOR):
        if centre is None or not centre.is_specialist_centre:
            raise PermissionDenied("Analytics are shown for a NET specialist centre.")
        return Viewer(centre, None, user.role != Role.ADMINISTRATOR)
    if user.role == Role.REFERRING_ONCOLOGIST:
        if centre is None or centre.kind != Centre.Kind.REFERRING_PRACTICE:
            raise PermissionDenied("Analytics are shown for your referring practice.")
        return Viewer(None, centre, True)
    raise PermissionDenied("This page is not available for your role.")


def _practices(viewer: Viewer):
    """The referring practices whose oncologists referred patients to the viewer's centre."""
    if viewer.centre is None:
        return None
    return list(Centre.objects.filter(
        kind=Centre.Kind.REFERRING_PRACTICE,
        users__referred_patients__centre_id=viewer.centre.pk).distinct().order_by("name"))


def _filters(request: HttpRequest) -> tuple[Viewer, FiltersForm]:
    viewer = viewer_of(request.user)
    form = FiltersForm(request.GET, today=user_today(request.user),
                       practices=_practices(viewer))
    return viewer, form


def _scope(viewer: Viewer, form: FiltersForm, user) -> Scope:
    data = form.cleaned_data
    practice = viewer.practice or form.chosen_practice
    return Scope.of_months(
        centre_id=viewer.centre.pk if viewer.centre else None,
        practice_id=practice.pk if practice else None, first=data["from_month"],
        last=data["to_month"], tz=zoneinfo.ZoneInfo(viewer.home.time_zone),
        today=user_today(user))


def _drill_href(slug: str, query: dict[str, str]):
    base = reverse("analytics:patients", args=[slug])

    def href(row: str, column: str) -> str:
        return f"{base}?{urlencode({**query, 'row': row, 'column': column})}"

    return href


def _cell_html(cell, row, href) -> str:
    """One number of a figure's table: a link to the patients behind it (named for a screen
    reader), a suppressed count with its explanation, or the number."""
    if cell.drill:
        return format_html(
            '<td class="num" data-column="{}"><a href="{}">{}<span class="visually-hidden"> '
            '({}, {}): list the patients</span></a></td>', cell.column.key,
            href(row.key, cell.column.key), cell.text, cell.column.label, ", ".join(row.labels))
    if cell.suppressed:
        return format_html('<td class="num" data-column="{}"><span title="Fewer than 5 '
                           'patients: not shown for a referring practice">{}</span></td>',
                           cell.column.key, cell.text)
    return format_html('<td class="num" data-column="{}">{}</td>', cell.column.key, cell.text)


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    viewer, form = _filters(request)
    context = {"form": form, "viewer": viewer, "sections": []}
    if not form.is_valid():
        return render(request, "analytics/dashboard.html", context, status=400)
    scope = _scope(viewer, form, request.user)
    query = form.query()
    for slug, spec in FIGURES.items():
        figure = spec.compute(scope)
        shown = table(figure, suppress=scope.suppress, drills=viewer.may_see_patients)
        href = _drill_href(slug, query)
        context["sections"].append({
            "table": shown, "chart": bar_chart(shown, href=href),
            "rows": [{"row": row, "cells": [_cell_html(cell, row, href) for cell in row.cells]}
                     for row in shown.rows],
            "width": len(figure.dimensions) + len(figure.columns),
            "csv_url": f"{reverse('analytics:csv', args=[slug])}?{urlencode(query)}"})
    context.update(scope=scope, practice=viewer.practice or form.chosen_practice)
    return render(request, "analytics/dashboard.html", context)


@require_GET
@login_required
def figure_csv(request: HttpRequest, figure: str) -> HttpResponse:
    spec = FIGURES.get(figure)
    if spec is None:
        raise Http404("No such figure.")
    viewer, form = _filters(request)
    if not form.is_valid():
        return HttpResponse(form.errors_text(), status=400, content_type="text/plain")
    scope = _scope(viewer, form, request.user)
    shown = table(spec.compute(scope), suppress=scope.suppress, drills=False)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    query = form.query()
    name = f"netcare-{figure}-{query['from_month']}-{query['to_month']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    csv.writer(response).writerows(csv_rows(shown))
    practice = viewer.practice or form.chosen_practice
    audit.record_export(actor=request.user, obj=practice or viewer.centre,
                        note=f"analytics {figure} {query['from_month']} to {query['to_month']}"
                             + (f" practice {practice.external_id}" if practice else ""))
    return response


@require_GET
@login_required
def figure_patients(request: HttpRequest, figure: str) -> HttpResponse:
    """The patients behind one number of a figure (a bar, a table cell), as far as the viewer
    may see them."""
    spec = FIGURES.get(figure)
    if spec is None or spec.cases is None:
        raise Http404("No such figure.")
    viewer, form = _filters(request)
    if not viewer.may_see_patients:
        raise PermissionDenied("Your role sees no patient records.")
    row, column = request.GET.get("row", ""), request.GET.get("column", "")
    if not form.is_valid():
        return HttpResponse(form.errors_text(), status=400, content_type="text/plain")
    scope = _scope(viewer, form, request.user)
    shown = spec.compute(scope)
    try:
        found_row, found_column = shown.row(row), shown.column(column)
        if not found_column.drill:
            raise UnknownBar(column)
        cases = spec.cases(scope, row, column)
    except UnknownBar:
        return HttpResponse("row, column: no such number in this figure.", status=400,
                            content_type="text/plain")
    patients = {p.pk: p for p in scope_to_patients(
        request.user, Patient.objects.filter(pk__in={case.patient_id for case in cases}),
        patient_path="")}
    shown_cases = sorted(((patients[case.patient_id], case) for case in cases
                          if case.patient_id in patients),
                         key=lambda pair: (pair[1].on, pair[0].family_name, pair[0].pk))
    audit.record_list(request=request, what=f"analytics:{figure}",
                      patient_ids=[patient.external_id for patient, _ in shown_cases])
    return render(request, "analytics/patients.html", {
        "figure": shown, "row": found_row, "column": found_column, "cases": shown_cases,
        "scope": scope, "practice": viewer.practice or form.chosen_practice, "viewer": viewer,
        "back": f"{reverse('analytics:dashboard')}?{urlencode(form.query())}#{figure}"})
