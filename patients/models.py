"""Patients and their clinical record: tumour profile, SSTR imaging, labs, performance status,
adverse events. The tumour grade is derived by the clinical rules, never typed."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from netcare.models import Centre


class Patient(models.Model):
    """A patient treated (or proposed for treatment) at a NET specialist centre.

    `centre` is the treating specialist centre; `referring_oncologist` the oncologist who referred
    the patient; `primary_oncologist` the oncologist who looks after them near home, when that is
    someone else. These three fields decide who may see the record (netcare.access).
    """

    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"

    class Pregnancy(models.TextChoices):
        UNKNOWN = "", "Not yet recorded"
        EXCLUDED = "excluded", "Pregnancy excluded"
        POSITIVE = "positive", "Pregnant"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    class SSA(models.TextChoices):
        NONE = "none", "None"
        OCTREOTIDE_LAR = "octreotide_lar", "Octreotide LAR (long-acting)"
        LANREOTIDE = "lanreotide", "Lanreotide (long-acting)"
        OCTREOTIDE_SC = "octreotide_sc", "Octreotide s.c. (short-acting)"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="patients")
    referring_oncologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referred_patients"
    )
    primary_oncologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="primary_patients",
    )
    mrn = models.CharField("MRN", max_length=32)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    weight_kg = models.DecimalField(
        "weight (kg)", max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(350)],
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    reminder_consent = models.BooleanField(
        "consents to reminders", default=False,
        help_text="The patient agreed to receive appointment and precaution reminders.",
    )
    pregnancy = models.CharField(max_length=16, choices=Pregnancy.choices, blank=True)
    # Before cycle 1 (readiness): the date of the pregnancy test behind "excluded" or "positive",
    # or, for "not applicable", who said so; and who recorded it, when.
    pregnancy_tested_on = models.DateField("pregnancy test date", null=True, blank=True)
    pregnancy_stated_by = models.CharField(
        "pregnancy test not applicable: said by", max_length=120, blank=True,
        help_text="Who confirmed the patient cannot become pregnant, and why.")
    pregnancy_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+")
    pregnancy_recorded_at = models.DateTimeField(null=True, blank=True)
    current_ssa = models.CharField(
        "current SSA therapy", max_length=16, choices=SSA.choices, default=SSA.NONE
    )
    last_long_acting_ssa_on = models.DateField(
        "last long-acting SSA injection", null=True, blank=True
    )
    progression_on_ssa = models.BooleanField(
        "progression on first-line SSA", null=True, blank=True,
        help_text="Progression, persistent symptoms, growing tumour burden or worsening organ "
        "function on a somatostatin analogue.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "mrn"], name="patient_mrn_unique_per_centre"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day) -> int:
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years


class TumourProfile(models.Model):
    class PrimarySite(models.TextChoices):
        PANCREAS = "pancreas", "Pancreas"
        SMALL_BOWEL = "small_bowel", "Small bowel"
        OTHER_GI = "other_gi", "Other gastrointestinal"
        LUNG = "lung", "Lung"
        UNKNOWN = "unknown", "Unknown primary"

    class Origin(models.TextChoices):
        FOREGUT = "foregut", "Foregut"
        MIDGUT = "midgut", "Midgut"
        HINDGUT = "hindgut", "Hindgut"
        UNKNOWN = "unknown", "Unknown"

    class Differentiation(models.TextChoices):
        WELL = "well", "Well differentiated"
        POOR = "poor", "Poorly differentiated"

    class Grade(models.TextChoices):
        G1 = "G1", "NET G1"
        G2 = "G2", "NET G2"
        G3 = "G3", "NET G3"
        NEC = "NEC", "NEC"
        UNKNOWN = "unknown", "Unknown"

    class Syndrome(models.TextChoices):
        NONE = "none", "Non-functioning"
        CARCINOID = "carcinoid", "Carcinoid syndrome"
        INSULINOMA = "insulinoma", "Insulinoma"
        GASTRINOMA = "gastrinoma", "Gastrinoma"
        VIPOMA = "vipoma", "VIPoma"
        GLUCAGONOMA = "glucagonoma", "Glucagonoma"
        OTHER = "other", "Other functional syndrome"

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="tumour")
    primary_site = models.CharField(max_length=16, choices=PrimarySite.choices)
    embryonic_origin = models.CharField(max_length=16, choices=Origin.choices,
                                        default=Origin.UNKNOWN)
    differentiation = models.CharField(max_length=8, choices=Differentiation.choices)
    ki67_percent = models.DecimalField(
        "Ki-67 (%)", max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    mitoses_per_2mm2 = models.DecimalField(
        "mitoses per 2 mm²", max_digits=6, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1000)],
    )
    grade = models.CharField(max_length=8, choices=Grade.choices, default=Grade.UNKNOWN,
                             editable=False, help_text="Derived by the clinical rules.")
    grade_explanation = models.TextField(blank=True, editable=False)
    stage = models.CharField(max_length=32, blank=True, help_text="e.g. stage IV, T2N1M1")
    metastatic_or_unresectable = models.BooleanField(default=True)
    functional_syndrome = models.CharField(max_length=16, choices=Syndrome.choices,
                                           default=Syndrome.NONE)
    extensive_liver_disease = models.BooleanField(null=True, blank=True)
    extensive_bone_disease = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.get_primary_site_display()} {self.grade}"

    @property
    def is_gep(self) -> bool | None:
        if self.primary_site == self.PrimarySite.UNKNOWN:
            return None
        return self.primary_site != self.PrimarySite.LUNG


class ImagingStudy(models.Model):
    class Modality(models.TextChoices):
        GA68_PET = "ga68_dotatate_pet", "[68Ga]Ga-DOTA-TATE PET"
        CU64_PET = "cu64_dotatate_pet", "[64Cu]Cu-DOTA-TATE PET"
        SCINTIGRAPHY = "sstr_scintigraphy", "SSTR scintigraphy"
        CT = "ct", "CT"
        MRI = "mri", "MRI"

    SSTR_MODALITIES = (Modality.GA68_PET, Modality.CU64_PET, Modality.SCINTIGRAPHY)

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="imaging")
    modality = models.CharField(max_length=24, choices=Modality.choices)
    performed_on = models.DateField()
    sstr_positive = models.BooleanField("SSTR positive", null=True, blank=True)
    uptake_score = models.PositiveSmallIntegerField(
        "uptake (Krenning score)", null=True, blank=True, validators=[MaxValueValidator(4)]
    )
    report = models.TextField(blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-performed_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(uptake_score__lte=4)
                                   | models.Q(uptake_score__isnull=True),
                                   name="imaging_krenning_0_4"),
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display()} {self.performed_on}"

    @property
    def is_sstr(self) -> bool:
        return self.modality in self.SSTR_MODALITIES


class LabResult(models.Model):
    """One lab value as reported, with its unit; validated and converted by the rules' units.

    Results are never edited: a wrong one is marked entered-in-error and a new one is added, so
    the record keeps its history."""

    class Analyte(models.TextChoices):
        PLATELETS = "platelets", "Platelets"
        HEMOGLOBIN = "hemoglobin", "Haemoglobin"
        NEUTROPHILS = "neutrophils", "Neutrophils (ANC)"
        WHITE_CELLS = "white_cells", "White cells"
        LYMPHOCYTES = "lymphocytes", "Lymphocytes"
        CREATININE = "creatinine", "Creatinine"
        BILIRUBIN = "bilirubin", "Total bilirubin"
        ALBUMIN = "albumin", "Albumin"
        AST = "ast", "AST"
        ALT = "alt", "ALT"
        PROTHROMBIN_RATIO = "prothrombin_ratio_percent", "Prothrombin ratio (Quick %)"
        INR = "inr", "INR"

    PLAIN_NUMBER_ANALYTES = {Analyte.PROTHROMBIN_RATIO: "%", Analyte.INR: ""}

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="labs")
    analyte = models.CharField(max_length=32, choices=Analyte.choices)
    value = models.DecimalField(max_digits=12, decimal_places=4)
    unit = models.CharField(max_length=16, blank=True)
    uln = models.DecimalField("ULN", max_digits=12, decimal_places=4, null=True, blank=True)
    lln = models.DecimalField("LLN", max_digits=12, decimal_places=4, null=True, blank=True)
    collected_at = models.DateTimeField()
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)
    entered_in_error = models.BooleanField(default=False)
    # Marked in error: why, by whom and when (the result stays, struck through).
    error_reason = models.TextField("why it is in error", blank=True)
    marked_in_error_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                           null=True, blank=True, related_name="+")
    marked_in_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-collected_at", "analyte", "-id"]
        indexes = [models.Index(fields=["patient", "analyte", "-collected_at"])]

    def __str__(self) -> str:
        return f"{self.get_analyte_display()} {self.value} {self.unit}"


class PerformanceStatus(models.Model):
    """One assessment of the patient's performance status (ECOG 0-4 or Karnofsky 0-100), with
    its date and who assessed it; the eligibility review reads the latest one on or before the
    day it is evaluated for."""

    class Scale(models.TextChoices):
        ECOG = "ecog", "ECOG"
        KARNOFSKY = "karnofsky", "Karnofsky"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE,
                                related_name="performance_status")
    scale = models.CharField(max_length=12, choices=Scale.choices)
    value = models.PositiveSmallIntegerField()
    assessed_on = models.DateField()
    assessed_by = models.CharField(max_length=120, blank=True,
                                   help_text="The clinician who assessed the patient.")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True, null=True)

    class Meta:
        ordering = ["-assessed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(scale="ecog", value__lte=5)
                           | models.Q(scale="karnofsky", value__lte=100)),
                name="performance_status_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scale_display()} {self.value}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        limit = 5 if self.scale == self.Scale.ECOG else 100
        if self.value is not None and self.value > limit:
            raise ValidationError({"value": f"{self.get_scale_display()} is 0-{limit}."})


class AdverseEvent(models.Model):
    class Category(models.TextChoices):
        HYPERSENSITIVITY = "hypersensitivity", "Hypersensitivity"
        THROMBOCYTOPENIA = "thrombocytopenia", "Thrombocytopenia"
        ANAEMIA = "anaemia", "Anaemia"
        NEUTROPENIA = "neutropenia", "Neutropenia"
        RENAL = "renal", "Renal"
        HEPATIC = "hepatic", "Hepatic"
        OTHER = "other", "Other"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="adverse_events")
    term = models.CharField("CTCAE term", max_length=120)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    ctcae_grade = models.PositiveSmallIntegerField(
        "CTCAE grade", validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    onset_on = models.DateField()
    related_to_treatment = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    reported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-onset_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ctcae_grade__gte=1, ctcae_grade__lte=5),
                                   name="adverse_event_grade_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.term} (grade {self.ctcae_grade})"


# The analytes a centre keeps limits of normal for (the plain numbers are not graded).
RANGED_ANALYTES = [(value, label) for value, label in LabResult.Analyte.choices
                   if value not in LabResult.PLAIN_NUMBER_ANALYTES]


class ReferenceRange(models.Model):
    """A centre's limits of normal for one analyte in one unit, as its laboratory reports them.

    Used for a typed result that carries no limits of its own (a result's own limit always
    wins), so that, for example, creatinine is graded against the centre's ULN. A decision keeps
    the limits it used in its labs snapshot: changing a range never regrades what was decided.
    Ranges are changed (audited with before and after values), never deleted."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="reference_ranges")
    analyte = models.CharField(max_length=32, choices=RANGED_ANALYTES)
    unit = models.CharField(max_length=16)
    uln = models.DecimalField("ULN", max_digits=12, decimal_places=4, null=True, blank=True)
    lln = models.DecimalField("LLN", max_digits=12, decimal_places=4, null=True, blank=True)
    laboratory = models.CharField(max_length=120,
                                  help_text="The laboratory whose reference range this is.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["centre", "analyte", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "analyte", "unit"],
                                    name="reference_range_unique_per_centre"),
            models.CheckConstraint(condition=models.Q(uln__isnull=False)
                                   | models.Q(lln__isnull=False),
                                   name="reference_range_has_a_limit"),
            models.CheckConstraint(condition=models.Q(uln__isnull=True)
                                   | models.Q(lln__isnull=True)
                                   | models.Q(lln__lt=models.F("uln")),
                                   name="reference_range_lln_below_uln"),
        ]

    def __str__(self) -> str:
        return f"{self.get_analyte_display()} ({self.unit}) at {self.laboratory}"
