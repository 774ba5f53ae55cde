"""The navigator's caseload page and its in-place task actions (htmx, no full reload)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import replace

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_http_methods, require_POST

from coordinators import services
from coordinators.caseload import (
    OWNER_FILTERS,
    PAGE_PATIENTS,
    STAGE_FILTERS,
    Filters,
    caseload_for,
)
from coordinators.models import OwnerParty, TaskKind
from coordinators.selectors import visible_tasks
from netcare import audit
from netcare.access import get_object_for, role_required
from netcare.jinja2 import render_fragment
from netcare.models import Role
from netcare.notifications import centre_team
from netcare.workflow import TransitionError

ACTIONS = ("done", "skip", "snooze", "reassign")


def _today(user) -> dt.date:
    centre = user.centre
    tz = zoneinfo.ZoneInfo(centre.time_zone) if centre else dt.UTC
    return timezone.now().astimezone(tz).date()


MAX_SHOWN = 2000


def _count(data, name: str, least: int) -> int:
    """A number of patient groups from the request, from `least` to MAX_SHOWN."""
    try:
        return min(max(int(data.get(name, least)), least), MAX_SHOWN)
    except ValueError:
        return least


def _context(request: HttpRequest, filters: Filters, **extra) -> dict:
    user = request.user
    data = request.POST if request.method == "POST" else request.GET
    show, after = _count(data, "show", PAGE_PATIENTS), _count(data, "after", 0)
    # "Show more" (htmx) asks for the groups after those on the page; without script, the
    # page comes back with the `show` first groups.
    offset = after if request.htmx and after < show else 0
    caseload = caseload_for(user, today=_today(user), filters=filters, show=show - offset,
                            offset=offset)
    # One audit row naming the patients the page shows.
    audit.record_list(request=request, what="caseload",
                      patient_ids=[group.patient.external_id for group in caseload.shown_groups])
    context = {"caseload": caseload,
               "next_show": show + PAGE_PATIENTS,
               "owner_filters": OWNER_FILTERS, "stage_filters": STAGE_FILTERS,
               "kind_filters": TaskKind.choices, **extra}
    context["groups_html"] = _groups_html(context)
    return context


def _groups_html(context: dict) -> str:
    """The patient groups of `context` (Jinja2: the part of the page repeated for every task)."""
    return render_fragment("coordinators/caseload_groups.jinja",
                           {**context, "caseload_url": reverse("caseload:caseload")})


@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def task_forms(request: HttpRequest, external_id) -> HttpResponse:
    """The action forms of one task, loaded when the navigator opens its "Actions"."""
    task = get_object_for(request.user, visible_tasks(request.user), external_id=external_id)
    staff = centre_team(request.user.centre_id)
    return render(request, "coordinators/_task_forms.html",
                  {"task": task, "staff": staff, "now_local": timezone.localtime()})


@require_http_methods(["GET", "HEAD", "POST"])
@role_required(Role.NAVIGATOR)
def caseload(request: HttpRequest) -> HttpResponse:
    """The caseload, filtered. The filters arrive in a POST body (a search by name or MRN must
    not reach URLs, and with them access logs); a GET shows the whole caseload and ignores any
    search in its query string."""
    if request.method == "POST":
        filters = Filters.from_query(request.POST)
    else:
        filters = replace(Filters.from_query(request.GET), q="")
    context = _context(request, filters)
    if not request.htmx:
        template = "coordinators/caseload.html"
    elif context["caseload"].offset:
        template = "coordinators/_caseload_more.html"  # the next groups, in place of "more"
    else:
        template = "coordinators/_caseload.html"
    return render(request, template, context)


@require_POST
@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def task_action(request: HttpRequest, external_id, action: str) -> HttpResponse:
    task = get_object_for(request.user, visible_tasks(request.user).select_related(
        "course__centre"), external_id=external_id)
    filters = Filters.from_query(request.POST)
    error = field = ""
    status = 200
    try:
        _apply(request, task, action)
    except TransitionError as exc:
        error, field, status = exc.message, exc.field or "", exc.status
    if not request.htmx:
        if error:
            from django.contrib import messages

            messages.error(request, error)
        return redirect("navigator-home")
    context = _context(request, filters, action_error=error, error_field=field,
                       error_task=task.external_id if error else None,
                       done_message="" if error else f"{task.title}: {action} recorded.")
    return render(request, "coordinators/_caseload.html", context, status=status)


def _apply(request: HttpRequest, task, action: str) -> None:
    data = request.POST
    user = request.user
    if action == "done":
        done_at = None
        if data.get("done_at"):
            done_at = parse_datetime(data["done_at"])
            if done_at is None:
                raise TransitionError("Give the time as date and time.", field="done_at")
            if timezone.is_naive(done_at):
                done_at = done_at.replace(tzinfo=zoneinfo.ZoneInfo(task.course.centre.time_zone))
        services.task_complete(actor=user, task=task, done_at=done_at,
                               value=data.get("value", ""))
    elif action == "skip":
        services.task_skip(actor=user, task=task, reason=data.get("reason", ""))
    elif action == "snooze":
        until = parse_date(data.get("until") or "")
        if until is None:
            raise TransitionError("Give the day to snooze until.", field="until")
        services.task_snooze(actor=user, task=task, until=until, reason=data.get("reason", ""))
    elif action == "reassign":
        owner = data.get("owner", "")
        if owner in (OwnerParty.CENTRE, OwnerParty.PRACTICE):
            services.task_reassign(actor=user, task=task, owner_party=owner,
                                   reason=data.get("reason", ""))
        else:
            # A colleague of the centre, by their public id (the service checks they may see
            # the patient).
            target = next((u for u in centre_team(user.centre_id)
                           if str(u.external_id) == owner), None)
            if target is None:
                raise TransitionError("Choose who takes the task.", field="owner")
            services.task_reassign(actor=user, task=task, owner_user=target,
                                   reason=data.get("reason", ""))
    else:
        raise TransitionError(f"Unknown action '{action}'.", field="action")

