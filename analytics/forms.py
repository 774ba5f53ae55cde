"""The dashboard's filters: the period as whole months (from, to) and, for the centre's team,
one referring practice (by its public id)."""

from __future__ import annotations

import datetime as dt

from django import forms

from analytics.period import (
    MAX_MONTHS,
    add_months,
    month_key,
    month_start,
    months_between,
    parse_month,
)
from netcare.clock import EARLIEST_DATE

DEFAULT_MONTHS = 12


class MonthInput(forms.TextInput):
    input_type = "month"


def _month(value: str) -> dt.date:
    month = parse_month(value)
    if month is None:
        raise forms.ValidationError("Give a month as YYYY-MM, e.g. 2025-03.")
    if month < EARLIEST_DATE:
        raise forms.ValidationError(f"The month is before {EARLIEST_DATE:%Y}.")
    return month


class FiltersForm(forms.Form):
    from_month = forms.CharField(label="From (month)", widget=MonthInput)
    to_month = forms.CharField(label="To (month)", widget=MonthInput)
    practice = forms.ChoiceField(label="Referring practice", required=False)

    def __init__(self, data, *, today: dt.date, practices=None) -> None:
        """`data`: the query string (the defaults fill what it does not give: the last
        DEFAULT_MONTHS months); `practices`: the practices the viewer may choose among (None:
        no choice, the viewer's own practice is fixed)."""
        self.this_month = month_start(today)
        defaults = {"from_month": month_key(add_months(self.this_month, 1 - DEFAULT_MONTHS)),
                    "to_month": month_key(self.this_month), "practice": ""}
        given = {name: data.get(name) for name in defaults if data.get(name) is not None}
        super().__init__({**defaults, **given})
        self.practices = {str(p.external_id): p for p in practices or []}
        if practices is None:
            del self.fields["practice"]
        else:
            self.fields["practice"].choices = [("", "All practices")] + [
                (key, practice.name) for key, practice in self.practices.items()]

    def clean_from_month(self) -> dt.date:
        return _month(self.cleaned_data["from_month"])

    def clean_to_month(self) -> dt.date:
        month = _month(self.cleaned_data["to_month"])
        if month > self.this_month:
            raise forms.ValidationError(
                f"The month is after this month ({self.this_month:%Y-%m}).")
        return month

    def clean(self):
        data = super().clean()
        first, last = data.get("from_month"), data.get("to_month")
        if first and last:
            if first > last:
                self.add_error("from_month", "The first month is after the last.")
            elif len(months_between(first, last)) > MAX_MONTHS:
                self.add_error("from_month", f"Choose at most {MAX_MONTHS} months.")
        return data

    @property
    def chosen_practice(self):
        """The chosen practice, or None for all."""
        return self.practices.get(self.cleaned_data.get("practice") or "")

    def query(self) -> dict[str, str]:
        """The filters as query parameters, for the CSV and drill-down links."""
        query = {"from_month": month_key(self.cleaned_data["from_month"]),
                 "to_month": month_key(self.cleaned_data["to_month"])}
        if self.cleaned_data.get("practice"):
            query["practice"] = self.cleaned_data["practice"]
        return query

    def errors_text(self) -> str:
        """The errors, each naming its field, for a plain 400."""
        return "\n".join(f"{name}: {error}" for name, errors in self.errors.items()
                         for error in errors)
