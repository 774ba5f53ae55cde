"""Pages of the coordination side: the user's tasks, and their calendar feed."""

from __future__ import annotations

import secrets

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from coordinators import ical, selectors
from coordinators.caseload import is_snoozed, task_link
from coordinators.models import CalendarToken
from netcare import audit
from netcare.clock import user_today


def _token_for(user) -> CalendarToken:
    token, _ = CalendarToken.objects.get_or_create(
        user=user, defaults={"token": secrets.token_urlsafe(32)})
    return token


@never_cache
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The open tasks of the token's owner as iCalendar; no login, the token is the secret."""
    if not token or len(token) > 64:
        raise Http404("Not found.")
    found = CalendarToken.objects.select_related("user__centre").filter(token=token).first()
    if found is None or not secrets.compare_digest(found.token, token) \
            or not found.user.is_active:
        raise Http404("Not found.")
    user = found.user
    # The tasks' own dates (the one plan); snoozed tasks stay on their due day.
    tasks = selectors.tasks_held_by(user).select_related("course__centre")
    # Links point back at the address the calendar app used to fetch the feed.
    base_url = request.build_absolute_uri("/").rstrip("/")
    body = ical.tasks_calendar(tasks, base_url=base_url, stamp=timezone.now())
    audit.record_export(actor=user, obj=found, note="Calendar feed of open care tasks")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="netcare-tasks.ics"'
    return response


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    """What the user holds, today / overdue / next days / snoozed until a later day, each with
    its appointment and its one-click link; reminders that could not be sent; and their
    calendar feed address."""
    today = user_today(request.user)
    tasks = list(selectors.with_cycle_ref(
        selectors.tasks_held_by(request.user).select_related("course__centre"))[:200])
    for task in tasks:
        task.link = task_link(task)
    awake = [t for t in tasks if not is_snoozed(t, today)]
    token = _token_for(request.user)
    feed_url = request.build_absolute_uri(
        reverse("coordinators:calendar-feed", args=[token.token]))
    return render(request, "coordinators/tasks.html", {
        "today": today,
        "overdue": [t for t in awake if t.due < today],
        "due_today": [t for t in awake if t.due == today],
        "later": [t for t in awake if t.due > today],
        "snoozed": sorted((t for t in tasks if is_snoozed(t, today)),
                          key=lambda t: (t.snoozed_until, t.due, t.pk)),
        "failed": list(selectors.failed_reminders(request.user)[:50]),
        "feed_url": feed_url,
    })


@login_required
@require_POST
def calendar_token_reset(request: HttpRequest) -> HttpResponse:
    """Replace the user's feed token: the old address stops working at once."""
    token = _token_for(request.user)
    token.token = secrets.token_urlsafe(32)
    token.save(update_fields=["token", "created_at"])
    audit.record(actor=request.user, action="update", obj=token,
                 note="Calendar feed address reset")
    from django.contrib import messages

    messages.success(request, "Your calendar address was reset; the old one no longer works.")
    return redirect("coordinators:tasks")
