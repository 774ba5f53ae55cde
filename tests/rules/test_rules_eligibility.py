"""Eligibility flags (§2): severities, thresholds on both sides, and the SSA washout."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import (
    DEFAULT_CONFIG,
    EligibilityInput,
    Labs,
    Patient,
    RulesConfig,
    RulesInputError,
    Severity,
    SstrImaging,
    eligibility_findings,
    lab_value,
    long_acting_ssa_finding,
    short_acting_ssa_finding,
)

D = dt.date
TODAY = D(2025, 1, 2)
DOSE = D(2025, 1, 6)
GOOD_LABS = Labs(
    platelets=lab_value("platelets", 210, "10^9/L"),
    hemoglobin=lab_value("hemoglobin", 125, "g/L"),
    white_cells=lab_value("white_cells", "5.1", "10^9/L"),
    creatinine=lab_value("creatinine", "0.9", "mg/dL"),
    bilirubin=lab_value("bilirubin", "0.6", "mg/dL", uln="1.2"),
    albumin=lab_value("albumin", 41, "g/L"),
)


def candidate(**overrides):
    values = {
        "planned_first_dose": DOSE, "sstr_imaging": SstrImaging(D(2024, 11, 20), True),
        "differentiation": "well", "ki67_percent": 8, "mitoses_per_2mm2": 3,
        "gep_primary": True, "metastatic_or_unresectable": True, "progression_on_ssa": True,
        "patient": Patient("F", 62, 68), "pregnancy": "excluded", "labs": GOOD_LABS,
        "karnofsky": 80, "last_long_acting_ssa": D(2024, 12, 1),
    }
    return EligibilityInput(**{**values, **overrides})


def codes(inp, config=DEFAULT_CONFIG):
    return {f.code.removeprefix("ELIGIBILITY."): f.severity
            for f in eligibility_findings(inp, TODAY, config)}


def test_a_suitable_patient_has_nothing_flagged():
    assert eligibility_findings(candidate(), TODAY) == []


@pytest.mark.parametrize(
    ("overrides", "code", "severity"),
    [
        ({"differentiation": "poor"}, "NEC", Severity.BLOCK),
        ({"ki67_percent": "20.1"}, "NET_G3", Severity.REVIEW),
        ({"ki67_percent": "20.1"}, "KI67_HIGH", Severity.REVIEW),
        ({"ki67_percent": None, "mitoses_per_2mm2": None}, "GRADE_UNKNOWN", Severity.REVIEW),
        ({"sstr_imaging": SstrImaging(D(2024, 11, 20), False)}, "SSTR_NEGATIVE", Severity.BLOCK),
        ({"sstr_imaging": None}, "SSTR_IMAGING_MISSING", Severity.REVIEW),
        ({"progression_on_ssa": None}, "NO_PROGRESSION_ON_SSA", Severity.WARNING),
        ({"gep_primary": False}, "NOT_GEP_PRIMARY", Severity.REVIEW),
        ({"pregnancy": None}, "PREGNANCY_NOT_EXCLUDED", Severity.WARNING),
        ({"pregnancy": "positive"}, "PREGNANT", Severity.BLOCK),
        ({"karnofsky": 50}, "KARNOFSKY_LOW", Severity.REVIEW),
        ({"karnofsky": None, "ecog": 3}, "ECOG_HIGH", Severity.REVIEW),
        ({"karnofsky": None}, "PERFORMANCE_STATUS_MISSING", Severity.WARNING),
        ({"extensive_liver_disease": True}, "EXTENSIVE_LIVER_DISEASE", Severity.REVIEW),
        ({"extensive_bone_disease": True}, "EXTENSIVE_BONE_DISEASE", Severity.REVIEW),
        ({"last_long_acting_ssa": D(2024, 12, 10)}, "SSA_WASHOUT_TOO_SHORT", Severity.BLOCK),
        ({"last_long_acting_ssa": D(2024, 12, 8)}, "SSA_WASHOUT_SHORT", Severity.WARNING),
        ({"labs": Labs()}, "PLATELETS_MISSING", Severity.WARNING),
        ({"differentiation": None}, "DIFFERENTIATION_MISSING", Severity.REVIEW),
        ({"differentiation": ""}, "DIFFERENTIATION_MISSING", Severity.REVIEW),
    ],
)
def test_flags(overrides, code, severity):
    assert codes(candidate(**overrides)).get(code) == severity


def test_men_need_no_pregnancy_check():
    assert "PREGNANCY_NOT_EXCLUDED" not in codes(candidate(patient=Patient("M", 62, 68),
                                                           pregnancy=None))


@pytest.mark.parametrize(
    ("field", "value", "unit", "code", "flagged"),
    [
        ("hemoglobin", "79", "g/L", "HEMOGLOBIN_LOW", True),
        ("hemoglobin", "8.0", "g/dL", "HEMOGLOBIN_LOW", False),
        ("white_cells", "1999", "/uL", "WHITE_CELLS_LOW", True),
        ("white_cells", "2.0", "10^9/L", "WHITE_CELLS_LOW", False),
        ("platelets", "74.9", "10^9/L", "PLATELETS_LOW", True),
        ("platelets", "75000", "/uL", "PLATELETS_LOW", False),
        ("albumin", "2.99", "g/dL", "ALBUMIN_LOW", True),
        ("albumin", "30", "g/L", "ALBUMIN_LOW", False),
    ],
)
def test_lab_thresholds_on_both_sides(field, value, unit, code, flagged):
    labs = Labs(**{**{f: getattr(GOOD_LABS, f) for f in (
        "platelets", "hemoglobin", "white_cells", "creatinine", "bilirubin", "albumin")},
        field: lab_value(field, value, unit)})
    assert (code in codes(candidate(labs=labs))) is flagged


@pytest.mark.parametrize(("bilirubin", "flagged"), [("3.6", False), ("3.61", True)])
def test_bilirubin_three_times_uln(bilirubin, flagged):
    labs = Labs(**{**GOOD_LABS.__dict__,
                   "bilirubin": lab_value("bilirubin", bilirubin, "mg/dL", uln="1.2")})
    assert ("BILIRUBIN_HIGH" in codes(candidate(labs=labs))) is flagged


@pytest.mark.parametrize(
    ("weight", "code"),
    [
        # M, 68 y, creatinine 1.25 mg/dL: CrCl = 0.8 × weight exactly
        ("37.5", "CRCL_REDUCED"), ("37.4", "CRCL_BELOW_30"), ("37.5001", "CRCL_REDUCED"),
        ("62.4", "CRCL_REDUCED"), ("62.5", None), ("40", "CRCL_REDUCED"),
    ],
)
def test_creatinine_clearance_bands(weight, code):
    labs = Labs(**{**GOOD_LABS.__dict__,
                   "creatinine": lab_value("creatinine", "1.25", "mg/dL")})
    found = codes(candidate(labs=labs, patient=Patient("M", 68, weight)))
    found_crcl = {c for c in found if c.startswith("CRCL")}
    assert found_crcl == ({code} if code else set())
    if code == "CRCL_BELOW_30":
        assert found[code] == Severity.BLOCK


def test_crcl_of_exactly_thirty_is_review_not_block():
    labs = Labs(**{**GOOD_LABS.__dict__,
                   "creatinine": lab_value("creatinine", "1.25", "mg/dL")})
    found = codes(candidate(labs=labs, patient=Patient("M", 68, "37.5")))
    assert found["CRCL_REDUCED"] == Severity.REVIEW
    assert "CRCL_BELOW_30" not in found


@pytest.mark.parametrize(
    ("imaging", "flagged"),
    [(D(2024, 7, 6), False), (D(2024, 7, 5), True), (D(2024, 12, 1), False)],
)
def test_sstr_imaging_at_most_six_calendar_months_before_the_dose(imaging, flagged):
    found = codes(candidate(sstr_imaging=SstrImaging(imaging, True)))
    assert ("SSTR_IMAGING_TOO_OLD" in found) is flagged


@pytest.mark.parametrize(
    ("days", "severity"),
    [(27, Severity.BLOCK), (28, Severity.WARNING), (29, Severity.WARNING), (30, None)],
)
def test_long_acting_ssa_washout(days, severity):
    finding = long_acting_ssa_finding(DOSE - dt.timedelta(days=days), DOSE)
    assert (None if finding is None else finding.severity) == severity


def test_short_acting_ssa_needs_24_hours_and_aware_times():
    utc = dt.UTC
    dose_at = dt.datetime(2025, 1, 6, 9, 0, tzinfo=utc)
    assert short_acting_ssa_finding(dose_at - dt.timedelta(hours=24), dose_at) is None
    finding = short_acting_ssa_finding(dose_at - dt.timedelta(hours=23), dose_at)
    assert finding is not None and finding.severity == Severity.BLOCK
    with pytest.raises(RulesInputError):
        short_acting_ssa_finding(dt.datetime(2025, 1, 5, 9, 0), dose_at)  # noqa: DTZ001


def test_thresholds_are_configurable():
    config = RulesConfig(eligibility_platelets_min=100)
    labs = Labs(**{**GOOD_LABS.__dict__, "platelets": lab_value("platelets", 90, "10^9/L")})
    assert "PLATELETS_LOW" in codes(candidate(labs=labs), config)
    assert "PLATELETS_LOW" not in codes(candidate(labs=labs))


def test_findings_are_ordered_by_severity_and_explain_themselves():
    findings = eligibility_findings(candidate(differentiation="poor", karnofsky=50,
                                              progression_on_ssa=False), TODAY)
    assert [f.severity for f in findings] == sorted(
        (f.severity for f in findings), key=[Severity.BLOCK, Severity.REVIEW,
                                             Severity.WARNING].index)
    karnofsky = next(f for f in findings if f.code == "ELIGIBILITY.KARNOFSKY_LOW")
    assert karnofsky.values == {"karnofsky": "50"}
    assert karnofsky.thresholds == {"karnofsky": "< 60"}


@pytest.mark.parametrize(("overrides", "field"), [({"karnofsky": 65}, "karnofsky"),
                                                  ({"ecog": 6}, "ecog"),
                                                  ({"pregnancy": "maybe"}, "pregnancy")])
def test_invalid_inputs(overrides, field):
    with pytest.raises(RulesInputError) as error:
        candidate(**overrides)
    assert error.value.field == field
