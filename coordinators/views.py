"""Pages of the coordination side: the user's tasks, and their calendar feed."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from coordinators import ical, selectors
from coordinators.caseload import is_snoozed, task_link
from coordinators.models import CalendarToken
from netcare import audit
from netcare.clock import user_today


@never_cache
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The open tasks of the token's owner as iCalendar; no login, the token is the secret (the
    database holds only its SHA-256, compared in constant time)."""
    if not token or len(token) > 64:
        raise Http404("Not found.")
    found = CalendarToken.find(token)
    if found is None or not found.user.is_active:
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


def _tasks_page(request: HttpRequest, *, new_feed_url: str = "") -> HttpResponse:
    today = user_today(request.user)
    tasks = list(selectors.with_cycle_ref(
        selectors.tasks_held_by(request.user).select_related("course__centre"))[:200])
    for task in tasks:
        task.link = task_link(task)
    awake = [t for t in tasks if not is_snoozed(t, today)]
    audit.record_list(request=request, what="my-tasks",
                      patient_ids=[t.patient.external_id for t in tasks if t.patient_id])
    return render(request, "coordinators/tasks.html", {
        "today": today,
        "overdue": [t for t in awake if t.due < today],
        "due_today": [t for t in awake if t.due == today],
        "later": [t for t in awake if t.due > today],
        "snoozed": sorted((t for t in tasks if is_snoozed(t, today)),
                          key=lambda t: (t.snoozed_until, t.due, t.pk)),
        "failed": list(selectors.failed_reminders(request.user)[:50]),
        "feed": CalendarToken.objects.filter(user=request.user).first(),
        "new_feed_url": new_feed_url,
    })


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    """What the user holds, today / overdue / next days / snoozed until a later day, each with
    its appointment and its one-click link; reminders that could not be sent; and whether they
    have a calendar feed (its address is shown only when it is made)."""
    return _tasks_page(request)


@login_required
@require_POST
def calendar_token_reset(request: HttpRequest) -> HttpResponse:
    """Make the user's calendar feed address, or replace it (the old one stops working at once),
    and show it this once: NETcare keeps only its hash and cannot show it again."""
    existed = CalendarToken.objects.filter(user=request.user).exists()
    token, secret = CalendarToken.issue(request.user)
    audit.record(actor=request.user, action="update" if existed else "create", obj=token,
                 note="Calendar feed address reset" if existed
                 else "Calendar feed address created")
    feed_url = request.build_absolute_uri(reverse("coordinators:calendar-feed", args=[secret]))
    # Rendered here rather than after a redirect, so the secret is stored nowhere (not even in
    # the session); the response is never cached (netcare.middleware.NoStoreMiddleware).
    return _tasks_page(request, new_feed_url=feed_url)
