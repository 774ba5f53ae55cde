"""Forms of the unmatched-results inbox."""

from __future__ import annotations

from django import forms

from patients.forms import CentreDateTimeField
from patients.models import LabResult


class MatchForm(forms.Form):
    """The patient (by MRN, exactly) and the values as the navigator confirms them."""

    mrn = forms.CharField(label="Patient's MRN", max_length=32,
                          help_text="The MRN at your centre; NETcare never picks a patient.")
    analyte = forms.ChoiceField(label="Test", choices=[("", "Choose the test"),
                                                       *LabResult.Analyte.choices])
    value = forms.CharField(label="Value", max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}))
    unit = forms.CharField(label="Unit", max_length=16, required=False,
                           help_text="As NETcare names it: 10^9/L, /uL, g/L, g/dL, mmol/L, "
                                     "mg/dL, umol/L, U/L, % (prothrombin ratio), blank for INR.")
    uln = forms.CharField(label="ULN", max_length=32, required=False)
    lln = forms.CharField(label="LLN", max_length=32, required=False)
    collected_at = CentreDateTimeField(label="Collected at")
    note = forms.CharField(label="Note", max_length=300, required=False,
                           help_text="How you matched it (e.g. checked with the laboratory).")

    def __init__(self, *args, time_zone: str = "UTC", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collected_at"].time_zone = time_zone


class RejectForm(forms.Form):
    reason = forms.CharField(label="Why is it rejected?", max_length=500,
                             widget=forms.TextInput(attrs={"size": 40}))

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the result is rejected.")
        return reason
