"""Entry forms of the patient page that belong to the coordination side: the contact log and
SSA injections. Times are typed as the centre's local time and read in the centre's zone."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone

from coordinators.models import CareTask, ContactLogEntry
from netcare.clock import past_moment_error
from patients.forms import CentreDateTimeField
from patients.models import Patient


class ContactLogForm(forms.Form):
    """A call, message or visit, optionally for one of the patient's open care tasks."""

    kind = forms.ChoiceField(label="Kind of contact", choices=ContactLogEntry.Kind.choices)
    party = forms.ChoiceField(label="With whom", choices=ContactLogEntry.Party.choices)
    occurred_at = CentreDateTimeField(label="When")
    summary = forms.CharField(label="Summary", widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="What was said or agreed, and what happens next.")
    task = forms.ChoiceField(label="For the task", required=False,
                             help_text="Optional: the open care task this contact was for "
                                       "(a radiation-safety check-in, a lab reminder).")

    def __init__(self, *args, tasks: list[CareTask], time_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._tasks = {str(task.external_id): task for task in tasks}
        self.fields["task"].choices = [("", "Not for a particular task")] + [
            (key, f"{task.title}, due {task.due.day} {task.due:%b %Y}")
            for key, task in self._tasks.items()]
        when = self.fields["occurred_at"]
        when.time_zone = time_zone
        when.help_text = f"The centre's local time ({time_zone})."
        if not self.is_bound:
            self.initial.setdefault("occurred_at", timezone.now().replace(second=0,
                                                                          microsecond=0))

    def clean_occurred_at(self):
        return _in_the_past(self.cleaned_data["occurred_at"], what="of the contact")

    def clean_summary(self) -> str:
        summary = self.cleaned_data["summary"].strip()
        if not summary:
            raise forms.ValidationError("Say what was discussed.")
        return summary

    def clean_task(self) -> CareTask | None:
        key = self.cleaned_data.get("task")
        return self._tasks[key] if key else None


def _in_the_past(moment, *, what: str):
    """The services' own check, here too, so a future time is reported with the other fields'
    errors rather than after them."""
    error = past_moment_error(moment, what=what)
    if error:
        raise forms.ValidationError(error)
    return moment


SSA_AGENTS = [(value, label) for value, label in Patient.SSA.choices
              if value != Patient.SSA.NONE]


class SSAInjectionForm(forms.Form):
    """One SSA injection: which drug, when, how much, by whom and where."""

    agent = forms.ChoiceField(label="Drug", choices=[("", "Choose the drug"), *SSA_AGENTS])
    given_at = CentreDateTimeField(label="Given at")
    dose_mg = forms.DecimalField(label="Dose (mg)", required=False, max_digits=6,
                                 decimal_places=1, min_value=Decimal("0.1"),
                                 help_text="For example 30 for octreotide LAR 30 mg.")
    given_by = forms.CharField(label="Given by", required=False, max_length=120,
                               help_text="A name or a service, e.g. the practice nurse.")
    place = forms.CharField(label="Where", required=False, max_length=120,
                            help_text="The clinic or place it was given.")

    def __init__(self, *args, time_zone: str, current_ssa: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        when = self.fields["given_at"]
        when.time_zone = time_zone
        when.help_text = f"The centre's local time ({time_zone})."
        if not self.is_bound and current_ssa in dict(SSA_AGENTS):
            self.initial.setdefault("agent", current_ssa)

    def clean_given_at(self):
        return _in_the_past(self.cleaned_data["given_at"], what="of the injection")
