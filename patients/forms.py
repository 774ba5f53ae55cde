"""Forms for the patient record. Lab values are checked by the clinical rules' units."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

import rules
from patients.models import AdverseEvent, ImagingStudy, LabResult, Patient, TumourProfile
from patients.services import lab_validate

DATE_INPUT = forms.DateInput(attrs={"type": "date"})

# The analytes the referral and pre-dose lab forms ask for, in the order clinicians read them.
LAB_PANEL = ["platelets", "hemoglobin", "neutrophils", "white_cells", "lymphocytes",
             "creatinine", "bilirubin", "albumin", "ast", "alt"]
NEEDS_ULN = {"bilirubin", "ast", "alt"}


def unit_choices(analyte: str) -> list[tuple[str, str]]:
    spec = rules.units.SPECS[rules.Analyte(analyte)]
    seen: list[tuple[str, str]] = []
    for unit in spec.factors:
        if unit in ("/µL", "/μL", "/mm3", "µmol/L", "μmol/L", "IU/L"):
            continue  # spelling variants the API accepts; the form offers one of each
        seen.append((unit, unit.replace("u", "µ", 1) if unit.startswith("u") else unit))
    return seen


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["given_name", "family_name", "date_of_birth", "sex", "weight_kg", "email",
                  "phone", "reminder_consent", "current_ssa", "last_long_acting_ssa_on",
                  "progression_on_ssa", "pregnancy"]
        widgets = {"date_of_birth": DATE_INPUT, "last_long_acting_ssa_on": DATE_INPUT,
                   "progression_on_ssa": forms.NullBooleanSelect()}

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born > timezone.localdate():
            raise ValidationError("The date of birth is in the future.")
        return born

    def clean_last_long_acting_ssa_on(self):
        day = self.cleaned_data.get("last_long_acting_ssa_on")
        if day and day > timezone.localdate():
            raise ValidationError("The last injection date is in the future.")
        return day


class TumourForm(forms.ModelForm):
    class Meta:
        model = TumourProfile
        fields = ["primary_site", "embryonic_origin", "differentiation", "ki67_percent",
                  "mitoses_per_2mm2", "stage", "metastatic_or_unresectable",
                  "functional_syndrome"]


class ImagingForm(forms.ModelForm):
    class Meta:
        model = ImagingStudy
        fields = ["modality", "performed_on", "sstr_positive", "uptake_score", "report"]
        widgets = {"performed_on": DATE_INPUT, "sstr_positive": forms.NullBooleanSelect(),
                   "report": forms.Textarea(attrs={"rows": 2})}

    def clean_performed_on(self):
        day = self.cleaned_data["performed_on"]
        if day > timezone.localdate():
            raise ValidationError("The scan date is in the future.")
        return day


class LabPanelForm(forms.Form):
    """A panel of labs drawn together: one value and unit per analyte, all optional."""

    collected_on = forms.DateField(label="Collected on", widget=DATE_INPUT)
    collected_time = forms.TimeField(label="Collection time", required=False,
                                     widget=forms.TimeInput(attrs={"type": "time"}))
    prothrombin_ratio_percent = forms.DecimalField(label="Prothrombin ratio (Quick %)",
                                                   required=False)
    pregnancy_test = forms.ChoiceField(
        label="Pregnancy test", required=False,
        choices=[("", "Not taken with these labs"), ("negative", "Negative"),
                 ("positive", "Positive"),
                 ("not_applicable", "Not applicable: cannot become pregnant")],
        help_text="Needed before cycle 1 for a patient who can become pregnant; the test date "
                  "is the collection date.")
    pregnancy_stated_by = forms.CharField(
        label="Not applicable: who said so", required=False, max_length=120,
        help_text="Who confirmed the patient cannot become pregnant, and why.")

    def __init__(self, *args, time_zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        labels = dict(LabResult.Analyte.choices)
        for analyte in LAB_PANEL:
            self.fields[f"{analyte}_value"] = forms.CharField(
                label=labels[analyte], required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}))
            self.fields[f"{analyte}_unit"] = forms.ChoiceField(
                label=f"{labels[analyte]} unit", choices=unit_choices(analyte), required=False)
            if analyte in NEEDS_ULN:
                self.fields[f"{analyte}_uln"] = forms.CharField(
                    label=f"{labels[analyte]} ULN", required=False,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}))

    def rows(self):
        """(analyte, value field, unit field, ULN field or None) for the template."""
        for analyte in LAB_PANEL:
            uln = self[f"{analyte}_uln"] if analyte in NEEDS_ULN else None
            yield analyte, self[f"{analyte}_value"], self[f"{analyte}_unit"], uln

    def clean_collected_on(self):
        day = self.cleaned_data["collected_on"]
        if day > timezone.localdate():
            raise ValidationError("The collection date is in the future.")
        return day

    def clean(self):
        data = super().clean()
        self.results: list[dict] = []
        self.pregnancy: dict | None = None
        day = data.get("collected_on")
        if day is None:
            return data
        self._clean_pregnancy(data, day)
        moment = dt.datetime.combine(day, data.get("collected_time") or dt.time(8, 0),
                                     tzinfo=zoneinfo.ZoneInfo(self.time_zone))
        for analyte in LAB_PANEL:
            raw = (data.get(f"{analyte}_value") or "").strip()
            if not raw:
                continue
            unit = data.get(f"{analyte}_unit") or ""
            uln = (data.get(f"{analyte}_uln") or "").strip() or None
            try:
                lab_validate(analyte=analyte, value=raw, unit=unit, uln=uln)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    target = f"{analyte}_{field}" if f"{analyte}_{field}" in self.fields \
                        else f"{analyte}_value"
                    for message in messages:
                        self.add_error(target, message)
                continue
            self.results.append({"analyte": analyte, "value": raw, "unit": unit, "uln": uln,
                                 "collected_at": moment})
        ratio = data.get("prothrombin_ratio_percent")
        if ratio is not None:
            try:
                lab_validate(analyte="prothrombin_ratio_percent", value=ratio, unit="%")
            except ValidationError as exc:
                self.add_error("prothrombin_ratio_percent", exc.message_dict["value"])
            else:
                self.results.append({"analyte": "prothrombin_ratio_percent", "value": ratio,
                                     "unit": "%", "collected_at": moment})
        return data

    def _clean_pregnancy(self, data, day) -> None:
        result = data.get("pregnancy_test") or ""
        stated_by = (data.get("pregnancy_stated_by") or "").strip()
        if not result:
            if stated_by:
                self.add_error("pregnancy_test", "Choose the result (or not applicable).")
            return
        if result == "not_applicable" and not stated_by:
            self.add_error("pregnancy_stated_by",
                           "Say who confirmed that the patient cannot become pregnant.")
            return
        self.pregnancy = {"result": result, "tested_on": day, "stated_by": stated_by}


class AdverseEventForm(forms.ModelForm):
    class Meta:
        model = AdverseEvent
        fields = ["term", "category", "ctcae_grade", "onset_on", "related_to_treatment",
                  "description"]
        widgets = {"onset_on": DATE_INPUT, "description": forms.Textarea(attrs={"rows": 3})}

    def clean_onset_on(self):
        day = self.cleaned_data["onset_on"]
        if day > timezone.localdate():
            raise ValidationError("The onset date is in the future.")
        return day
