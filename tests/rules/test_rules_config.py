"""Per-centre configuration: defaults, validation and reading from a settings mapping."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from rules import DEFAULT_CONFIG, RulesConfig, SixteenWeekMode


def test_documented_defaults():
    config = DEFAULT_CONFIG
    assert config.ctcae_version == "5.0"
    assert config.precaution_days == 7
    assert config.sixteen_week_mode is SixteenWeekMode.FROM_DUE_DATE
    assert (config.ssa_washout_warn_days, config.ssa_washout_block_days) == (30, 28)
    assert config.pre_dose_lab_window_days == 14
    assert (config.full_activity_gbq, config.reduced_activity_gbq) == (Decimal("7.4"),
                                                                       Decimal("3.7"))
    assert (config.cycle_window_early_days, config.cycle_interval_days,
            config.cycle_window_late_days) == (49, 56, 63)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        DEFAULT_CONFIG.precaution_days = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_CONFIG.default_lln["platelets"] = Fraction(1)  # type: ignore[index]


def test_from_mapping_converts_and_merges():
    config = RulesConfig.from_mapping({
        "precaution_days": "3", "ctcae_version": "6.0", "sixteen_week_mode": "interval",
        "eligibility_crcl_review_below": "45", "default_lln": {"platelets": 140},
    })
    assert config.precaution_days == 3
    assert config.sixteen_week_mode is SixteenWeekMode.INTERVAL
    assert config.eligibility_crcl_review_below == 45
    assert config.default_lln["platelets"] == 140
    assert config.default_lln["hemoglobin"] == 120


@pytest.mark.parametrize(
    "values",
    [
        {"precaution_days_typo": 3},
        {"ctcae_version": "4.03"},
        {"sixteen_week_mode": "sometimes"},
        {"ssa_washout_block_days": 31},
        {"precaution_days": 45},
        {"reduced_activity_gbq": "8"},
        {"cycle_window_early_days": 60},
        {"pre_dose_labs_due_days_before": 20},
    ],
)
def test_inconsistent_settings_are_refused(values):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        RulesConfig.from_mapping(values)
