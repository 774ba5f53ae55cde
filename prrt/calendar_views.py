"""The centre's weekly infusion calendar: who is booked in which room's slot, each dose order's
state, the free slots and the closures, one ISO week at a time in the centre's time zone."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from netcare import audit
from netcare.access import role_required
from netcare.clock import centre_today
from netcare.models import Role
from prrt import capacity

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def iso_week(day: dt.date) -> str:
    """The ISO week of `day` as the page's `week` parameter says it: "2025-W10"."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(text: str) -> dt.date:
    """The Monday of the ISO week "YYYY-Www"; ValueError when it is not one."""
    match = _WEEK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a week: give it as 2025-W10.")
    year, week = int(match[1]), int(match[2])
    if not 1900 <= year <= 9998:
        raise ValueError("Give a week from 1900 to 9998.")
    try:
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"{year} has no week {week}.") from exc


class WeekForm(forms.Form):
    week = forms.CharField(label="Week", required=False, max_length=8,
                           widget=forms.TextInput(attrs={"type": "week"}),
                           help_text="As 2025-W10 where the browser has no week picker.")

    def clean_week(self) -> dt.date | None:
        text = self.cleaned_data["week"]
        if not text:
            return None
        try:
            return week_monday(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def infusion_calendar(request: HttpRequest) -> HttpResponse:
    """The week's grid for the user's centre (its navigators and specialists only)."""
    centre = request.user.centre
    if centre is None or not centre.is_specialist_centre:
        raise Http404("Not found.")
    today = centre_today(centre)
    form = WeekForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "prrt/infusion_calendar.html",
                      {"form": form, "centre": centre}, status=400)
    monday = (form.cleaned_data.get("week") if form.is_bound else None) \
        or today - dt.timedelta(days=today.weekday())
    grid = capacity.week_grid(centre, monday, today=today, viewer=request.user)
    audit.record_list(request=request, what="infusion-calendar", patient_ids=grid.patients)
    week = iso_week(monday)
    if not form.is_bound or not form.data.get("week"):
        form = WeekForm(initial={"week": week})
    return render(request, "prrt/infusion_calendar.html", {
        "form": form, "centre": centre, "grid": grid, "week": week, "today": today,
        "sunday": monday + dt.timedelta(days=6),
        "this_week": iso_week(today), "is_this_week": monday <= today < monday
        + dt.timedelta(days=7),
        "previous_week": iso_week(monday - dt.timedelta(days=7)),
        "next_week": iso_week(monday + dt.timedelta(days=7)),
    })
