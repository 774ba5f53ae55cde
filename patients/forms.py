"""Forms for the patient record. Lab values are checked by the clinical rules' units."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

import rules
from netcare.clock import past_date_error
from netcare.models import Role, User
from netcare.numbers import plain
from patients.models import (
    RANGED_ANALYTES,
    AdverseEvent,
    ImagingStudy,
    LabResult,
    Patient,
    PerformanceStatus,
    TumourProfile,
)
from patients.ranges import CentreRanges
from patients.services import lab_validate, performance_status_validate

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class CentreDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input read, and shown, in the centre's time zone (not the server's)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)

    def __init__(self, *args, time_zone: str = "UTC", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone

    def _zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def to_python(self, value):
        with timezone.override(self._zone()):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(self._zone()):
            return super().prepare_value(value)

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
        error = past_date_error(born, today=timezone.localdate(), what="The date of birth")
        if error:
            raise ValidationError(error)
        return born

    def clean_last_long_acting_ssa_on(self):
        day = self.cleaned_data.get("last_long_acting_ssa_on")
        error = day and past_date_error(day, today=timezone.localdate(),
                                        what="The last injection date")
        if error:
            raise ValidationError(error)
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
        error = past_date_error(day, today=timezone.localdate(), what="The scan date")
        if error:
            raise ValidationError(error)
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

    def __init__(self, *args, time_zone: str = "UTC", ranges: CentreRanges | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        self.ranges = ranges
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
        error = past_date_error(day, today=timezone.localdate(), what="The collection date")
        if error:
            raise ValidationError(error)
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
                lab_validate(analyte=analyte, value=raw, unit=unit, uln=uln, ranges=self.ranges)
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


    @staticmethod
    def initial_from(labs: dict[str, LabResult], time_zone: str) -> dict:
        """The form's initial values for the labs of a draft (the latest result per analyte)."""
        if not labs:
            return {}
        zone = zoneinfo.ZoneInfo(time_zone)
        moment = max(lab.collected_at for lab in labs.values()).astimezone(zone)
        initial: dict = {"collected_on": moment.date(), "collected_time": moment.time()}
        for analyte, lab in labs.items():
            if analyte == "prothrombin_ratio_percent":
                initial[analyte] = plain(lab.value)
                continue
            initial[f"{analyte}_value"] = plain(lab.value)
            initial[f"{analyte}_unit"] = lab.unit
            if lab.uln is not None:
                initial[f"{analyte}_uln"] = plain(lab.uln)
        return initial


class PerformanceStatusForm(forms.Form):
    """One performance status assessment: ECOG 0-4 or Karnofsky 0-100, its date and who
    assessed it. With ``optional=True`` (the referral form) it may be left empty."""

    scale = forms.ChoiceField(label="Scale", choices=[("", "Choose the scale"),
                                                      *PerformanceStatus.Scale.choices])
    value = forms.IntegerField(label="Score", min_value=0, max_value=100,
                               help_text="ECOG 0-4, or Karnofsky 0-100 in steps of 10.")
    assessed_on = forms.DateField(label="Assessed on", widget=DATE_INPUT)
    assessed_by = forms.CharField(label="Assessed by", max_length=120,
                                  help_text="The clinician who assessed the patient.")

    def __init__(self, *args, today: dt.date | None = None, optional: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.optional = optional
        self.entry: dict | None = None
        if optional:
            for field in self.fields.values():
                field.required = False

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        given = {name: data.get(name) for name in self.fields}
        if self.optional and all(value in (None, "") for value in given.values()):
            return data
        for name, value in given.items():
            if value in (None, ""):
                self.add_error(name, "This field is required.")
        if self.errors:
            return data
        try:
            self.entry = performance_status_validate(
                today=self.today or timezone.localdate(), **given)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return data


class LabInErrorForm(forms.Form):
    reason = forms.CharField(label="Why is it in error?", max_length=500,
                             widget=forms.TextInput(attrs={"size": 30}))

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Say why the result is in error.")
        return reason


class PrimaryOncologistForm(forms.Form):
    """The oncologist near home who looks after the patient (and so may see the record)."""

    primary_oncologist = forms.ModelChoiceField(
        label="Primary oncologist", required=False,
        queryset=User.objects.filter(role=Role.REFERRING_ONCOLOGIST, is_active=True)
        .select_related("centre").order_by("last_name", "first_name", "pk"),
        empty_label="None (the referring oncologist)",
        help_text="They will see this patient's whole record.")


def unit_choices_all() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every analyte's units, grouped by analyte (the reference-range form)."""
    labels = dict(LabResult.Analyte.choices)
    return [(labels[analyte], unit_choices(analyte)) for analyte, _ in RANGED_ANALYTES]


class ReferenceRangeForm(forms.Form):
    """The centre's limits of normal for one analyte in one unit, from its laboratory."""

    analyte = forms.ChoiceField(label="Analyte", choices=[("", "Choose the analyte"),
                                                          *RANGED_ANALYTES])
    unit = forms.ChoiceField(label="Unit", choices=[("", "Choose the unit"),
                                                    *unit_choices_all()])
    lln = forms.CharField(label="LLN", required=False,
                          widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
                          help_text="Lower limit of normal, in this unit.")
    uln = forms.CharField(label="ULN", required=False,
                          widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
                          help_text="Upper limit of normal, in this unit.")
    laboratory = forms.CharField(label="Laboratory", max_length=120)

    def clean(self):
        data = super().clean()
        analyte, unit = data.get("analyte"), data.get("unit")
        if analyte and unit and unit not in rules.SPECS[rules.Analyte(analyte)].factors:
            self.add_error("unit", f"Not a unit of {dict(RANGED_ANALYTES)[analyte].lower()}.")
        return data


class AdverseEventForm(forms.ModelForm):
    class Meta:
        model = AdverseEvent
        fields = ["term", "category", "ctcae_grade", "onset_on", "related_to_treatment",
                  "description"]
        widgets = {"onset_on": DATE_INPUT, "description": forms.Textarea(attrs={"rows": 3})}

    def clean_onset_on(self):
        day = self.cleaned_data["onset_on"]
        error = past_date_error(day, today=timezone.localdate(), what="The onset date")
        if error:
            raise ValidationError(error)
        return day
