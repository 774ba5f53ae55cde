from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from patients.forms import CentreDateTimeField
from patients.models import AdverseEvent
from prrt.capacity import CHOOSE_A_SLOT, SlotKey
from prrt.models import AMENDABLE_FIELDS, Responsible
from prrt.orders import OrderAction

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"})
CATEGORY_CHOICES = [(c, label) for c, label in AdverseEvent.Category.choices
                    if c != "hypersensitivity"]


class OpenCourseForm(forms.Form):
    planned_first_dose = forms.DateField(label="Planned first dose", widget=DATE)

    def clean_planned_first_dose(self):
        day = self.cleaned_data["planned_first_dose"]
        if day < timezone.localdate() - dt.timedelta(days=1):
            raise forms.ValidationError("The first dose cannot be planned in the past.")
        return day


class EligibilityForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve the course"),
                                          ("reject", "Do not approve")],
                                 widget=forms.RadioSelect)
    reason = forms.CharField(label="Reason", required=False,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Required to override a block or review finding, and to "
                                       "not approve.")
    labs_drawn_by = forms.ChoiceField(label="Pre-dose labs drawn by",
                                      choices=Responsible.choices, initial=Responsible.PRACTICE)
    lar_during_course_by = forms.ChoiceField(label="LAR during the course given by",
                                             choices=Responsible.choices,
                                             initial=Responsible.CENTRE)
    lar_after_course_by = forms.ChoiceField(label="LAR after the course given by",
                                            choices=Responsible.choices,
                                            initial=Responsible.PRACTICE)


class CycleDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("withhold", "Withhold"),
                                          ("discontinue", "Discontinue the course")],
                                 widget=forms.RadioSelect)
    activity_gbq = forms.ChoiceField(label="Activity", required=False,
                                     choices=[("7.4", "7.4 GBq"), ("3.7", "3.7 GBq")],
                                     widget=forms.RadioSelect)
    categories = forms.MultipleChoiceField(label="Withheld for", required=False,
                                           choices=CATEGORY_CHOICES,
                                           widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label="Reason", required=False,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Required when your decision differs from the "
                                       "recommendation.")
    order_action = forms.ChoiceField(
        label="The dose already ordered (withhold)", required=False,
        choices=OrderAction.CHOICES, widget=forms.RadioSelect,
        help_text="Past its free cancellation: cancelling it now is charged.")


class AdministrationForm(forms.Form):
    administered_at = forms.DateTimeField(label="Infusion started at", widget=DATETIME)
    activity_gbq = forms.DecimalField(label="Administered activity (GBq)", max_digits=4,
                                      decimal_places=2, min_value=0.1, max_value=8)
    lar_injected_at = forms.DateTimeField(label="Octreotide LAR given at", required=False,
                                          widget=DATETIME)
    no_short_acting_ssa_24h = forms.BooleanField(
        label="No short-acting octreotide in the 24 h before the dose")
    amino_acids_given = forms.BooleanField(label="Amino acids given", required=False,
                                           initial=True)
    antiemetic_given = forms.BooleanField(label="Antiemetic given", required=False,
                                          initial=True)
    infusion_reaction_grade = forms.TypedChoiceField(
        label="Infusion reaction (CTCAE grade)", required=False, coerce=int, empty_value=None,
        choices=[("", "None"), *[(str(g), f"Grade {g}") for g in range(1, 6)]])
    reaction_is_hypersensitivity = forms.BooleanField(
        label="The reaction is hypersensitivity (anaphylaxis)", required=False)
    precautions_given = forms.BooleanField(
        label="Radiation-safety precautions given to the patient in writing", required=False,
        help_text="Closes the radiation-safety education task of this cycle.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SlotField(forms.Field):
    """One infusion slot, offered as radios (the page sets the free slots as the widget's
    choices); any slot key is read, and the booking decides whether it is free."""

    widget = forms.RadioSelect

    def to_python(self, value) -> SlotKey | None:
        if value in self.empty_values:
            return None
        try:
            return SlotKey.parse(value)
        except ValueError as exc:
            raise forms.ValidationError(CHOOSE_A_SLOT) from exc


class BookingForm(forms.Form):
    """Book or rebook the infusion: the day, and the time and room when known. Where the centre
    has infusion rooms (`rooms`), a free slot instead: its room and start time are the place and
    time; another day (outside the window the slots are offered in) lists that day's slots."""

    booked_date = forms.DateField(
        label="Infusion day", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    booked_time = forms.TimeField(
        label="Time", required=False,
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
    place = forms.CharField(label="Room or place", required=False, max_length=120)
    reason = forms.CharField(
        label="Reason", required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required outside 49-63 days after the previous dose; say why it moved.")

    def __init__(self, *args, rooms: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rooms = rooms
        if rooms:
            del self.fields["booked_time"], self.fields["place"]
            day = self.fields["booked_date"]
            day.required = False
            day.label = "Another day (outside the window)"
            day.help_text = ("To book outside the days offered, give the day and a reason, then "
                             "Book: that day's free slots are offered.")
            self.fields = {"slot": SlotField(label="Free infusion slot", required=False),
                           **self.fields}

    def clean(self):
        data = super().clean()
        if self.rooms and not data.get("slot") and not data.get("booked_date") \
                and "slot" not in self.errors and "booked_date" not in self.errors:
            self.add_error("slot", CHOOSE_A_SLOT)
        return data


class AdministrationAmendForm(forms.Form):
    """Correct an administration record: every value it holds, and why (required). Times are
    the centre's local time."""

    administered_at = CentreDateTimeField(label="Infusion started at")
    lar_injected_at = CentreDateTimeField(label="Octreotide LAR given at", required=False)
    activity_gbq = forms.DecimalField(label="Administered activity (GBq)", max_digits=4,
                                      decimal_places=2, min_value=0.1, max_value=8)
    amino_acids_given = forms.BooleanField(label="Amino acids given", required=False)
    antiemetic_given = forms.BooleanField(label="Antiemetic given", required=False)
    infusion_reaction_grade = forms.TypedChoiceField(
        label="Infusion reaction (CTCAE grade)", required=False, coerce=int, empty_value=None,
        choices=[("", "None"), *[(str(g), f"Grade {g}") for g in range(1, 6)]])
    reaction_is_hypersensitivity = forms.BooleanField(
        label="The reaction is hypersensitivity (anaphylaxis)", required=False)
    precautions_given = forms.BooleanField(
        label="Radiation-safety precautions given to the patient in writing", required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(label="Why is the record amended?",
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Required; kept with the values before and after.")

    def __init__(self, *args, administration=None, time_zone: str = "UTC", **kwargs) -> None:
        if administration is not None and not args and "data" not in kwargs:
            kwargs.setdefault("initial", {name: getattr(administration, name)
                                          for name in AMENDABLE_FIELDS})
        super().__init__(*args, **kwargs)
        for name in ("administered_at", "lar_injected_at"):
            self.fields[name].time_zone = time_zone
            self.fields[name].help_text = f"The centre's local time ({time_zone})."

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the record is amended.")
        return reason

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in AMENDABLE_FIELDS}
