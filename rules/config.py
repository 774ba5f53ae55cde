"""Per-centre choices of the clinical rules, in one frozen dataclass with documented defaults.

Only the choices the clinical rules mark *configurable* live here; the label's dose-modification
thresholds (§4.3: CrCl < 40 mL/min, creatinine +40 %, bilirubin > 3 × ULN, ...) are fixed in the
rules themselves. A centre overrides a default with ``RulesConfig(precaution_days=3)`` or, from a
settings mapping, ``RulesConfig.from_mapping({"precaution_days": 3})``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

CTCAE_VERSIONS = ("5.0", "6.0")


class SixteenWeekMode(StrEnum):
    """How the 16-week rule counts (§4.4 step 3, §7).

    ``from_due_date`` (default, US label): a trigger still present 112 days or more after the dose
    was due (previous dose + 56 days) discontinues the course.
    ``interval`` (an EU reading): the course stops once the interval from the previous dose to the
    next would exceed 112 days because of a toxicity delay.
    """

    FROM_DUE_DATE = "from_due_date"
    INTERVAL = "interval"


def _default_lln() -> Mapping[str, Fraction]:
    # Typical adult lower limits, in each analyte's canonical unit. They only separate CTCAE
    # grade 0 from grade 1 when a result carries no LLN of its own; no rule decides on that.
    return MappingProxyType(
        {
            "platelets": Fraction(150),  # 10^9/L
            "hemoglobin": Fraction(120),  # g/L
            "neutrophils": Fraction(2),  # 10^9/L
            "white_cells": Fraction(4),  # 10^9/L
            "lymphocytes": Fraction(1),  # 10^9/L
            "albumin": Fraction(35),  # g/L
        }
    )


@dataclass(frozen=True)
class RulesConfig:
    """Every configurable choice, with its default. All day counts are calendar days."""

    # CTCAE version used for grading (§7: 5.0 pinned; 6.0 moves the neutropenia grades).
    ctcae_version: str = "5.0"
    # Activities (GBq) and the number of cycles in a course (§3).
    full_activity_gbq: Decimal = Decimal("7.4")
    reduced_activity_gbq: Decimal = Decimal("3.7")
    max_cycles: int = 4
    # Interval between doses and its acceptable window, from the previous dose (§3).
    cycle_interval_days: int = 56
    cycle_window_early_days: int = 49
    cycle_window_late_days: int = 63
    # Radiation-safety precautions after each infusion, day 0 through this day (§3, §7).
    precaution_days: int = 7
    # The 16-week rule (§4.4 step 3, §7).
    sixteen_week_days: int = 112
    sixteen_week_mode: SixteenWeekMode = SixteenWeekMode.FROM_DUE_DATE
    # Long-acting SSA: last injection at least this many days before every dose (§3, §7).
    ssa_washout_warn_days: int = 30
    ssa_washout_block_days: int = 28
    # Short-acting octreotide: none in this many hours before a dose.
    short_acting_ssa_gap_hours: int = 24
    # Pre-dose labs: drawn within this many days before the dose, aimed this many days before it.
    pre_dose_lab_window_days: int = 14
    pre_dose_labs_due_days_before: int = 7
    # When the centre orders its doses: pre-dose labs drawn at the latest this many days before
    # the dose, so their results are known before the supplier's free-cancellation deadline
    # (its days before + 1; 0 = up to the day of the dose). Optional confirmatory labs the day
    # before the dose.
    pre_dose_labs_by_days_before: int = 0
    confirmatory_labs_day_before: bool = False
    # Follow-up after the course (§3).
    post_course_labs_days: int = 35
    post_treatment_pet_months: int = 3
    imaging_interval_months: int = 3
    lar_maintenance_interval_days: int = 28
    lar_maintenance_months: int = 18
    # Slack around follow-up dates: imaging ± this, post-course labs and PET up to this late.
    follow_up_tolerance_days: int = 14
    # Slack around each maintenance LAR injection.
    lar_maintenance_tolerance_days: int = 3
    # Eligibility (§2): SSTR imaging age, and the customary trial limits that flag for review.
    sstr_imaging_max_age_months: int = 6
    eligibility_hemoglobin_min_g_l: Fraction = Fraction(80)
    eligibility_white_cells_min: Fraction = Fraction(2)
    eligibility_platelets_min: Fraction = Fraction(75)
    eligibility_crcl_block_below: Fraction = Fraction(30)
    eligibility_crcl_review_below: Fraction = Fraction(50)
    eligibility_bilirubin_max_x_uln: Fraction = Fraction(3)
    eligibility_albumin_min_g_l: Fraction = Fraction(30)
    eligibility_karnofsky_min: int = 60
    eligibility_ecog_max: int = 2
    eligibility_ki67_review_above_percent: Fraction = Fraction(20)
    # Lower limits of normal used for CTCAE grade 1 when a result gives none.
    default_lln: Mapping[str, Fraction] = field(default_factory=_default_lln)

    def __post_init__(self) -> None:
        if self.ctcae_version not in CTCAE_VERSIONS:
            raise ValueError(f"ctcae_version must be one of {', '.join(CTCAE_VERSIONS)}")
        object.__setattr__(self, "sixteen_week_mode", SixteenWeekMode(self.sixteen_week_mode))
        if not 0 < self.reduced_activity_gbq < self.full_activity_gbq:
            raise ValueError("reduced_activity_gbq must be positive and below full_activity_gbq")
        if not (
            0 < self.cycle_window_early_days
            <= self.cycle_interval_days
            <= self.cycle_window_late_days
        ):
            raise ValueError("cycle window must satisfy early <= interval <= late")
        if not 0 <= self.pre_dose_labs_due_days_before <= self.pre_dose_lab_window_days:
            raise ValueError("pre_dose_labs_due_days_before must lie within the lab window")
        if not 0 <= self.pre_dose_labs_by_days_before < self.pre_dose_lab_window_days:
            raise ValueError("pre_dose_labs_by_days_before must leave days in the lab window")
        if self.precaution_days < 0:
            raise ValueError("precaution_days must not be negative")
        busy_days = self.precaution_days + self.pre_dose_labs_due_days_before
        if busy_days >= self.cycle_window_early_days:
            raise ValueError("precaution window and pre-dose labs must fit inside a cycle interval")
        if self.post_course_labs_days <= self.precaution_days:
            raise ValueError("post-course labs must fall after the precaution window")
        if not 0 < self.ssa_washout_block_days <= self.ssa_washout_warn_days:
            raise ValueError("ssa_washout_block_days must be positive and <= ssa_washout_warn_days")
        if self.max_cycles < 1 or self.sixteen_week_days < 1:
            raise ValueError("max_cycles and sixteen_week_days must be positive")
        if self.eligibility_crcl_block_below > self.eligibility_crcl_review_below:
            raise ValueError("eligibility CrCl block threshold must not exceed the review one")
        object.__setattr__(self, "default_lln", MappingProxyType(dict(self.default_lln)))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RulesConfig:
        """Build a config from a settings mapping, refusing unknown keys; numbers given as
        strings or numbers are converted to the field's type."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown rules setting(s): {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            default = getattr(DEFAULT_CONFIG, name)
            if isinstance(default, Fraction):
                converted[name] = Fraction(str(value))
            elif isinstance(default, Decimal):
                converted[name] = Decimal(str(value))
            elif isinstance(default, bool | str) or not isinstance(default, int):
                converted[name] = value
            else:
                converted[name] = int(value)
        if "default_lln" in converted:
            converted["default_lln"] = {
                **DEFAULT_CONFIG.default_lln,
                **{key: Fraction(str(val)) for key, val in dict(converted["default_lln"]).items()},
            }
        return cls(**converted)


DEFAULT_CONFIG = RulesConfig()
