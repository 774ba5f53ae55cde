"""Eligibility flags for PRRT (§2, article Table 1): findings for the specialist, never a silent
block. ``block`` marks what the label or the grading excludes (NEC, SSTR-negative disease,
CrCl < 30 mL/min, a positive pregnancy test, a long-acting SSA too close to the dose); the
customary trial limits flag for ``review``; what is missing or advisory is a ``warning``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from .config import DEFAULT_CONFIG, RulesConfig
from .errors import RulesInputError
from .explain import Finding, Severity, fmt, fmt_cmp, fmt_near, sentence
from .grading import Differentiation, Grade, tumour_grade
from .inputs import Labs, Patient
from .plan import add_months
from .renal import creatinine_clearance

PREGNANCY_STATUSES = (None, "excluded", "positive", "not_applicable")


@dataclass(frozen=True)
class SstrImaging:
    """SSTR imaging (Ga-68 DOTATATE PET or scintigraphy): its date and whether it is positive."""

    date: dt.date
    positive: bool
    modality: str = "SSTR imaging"


@dataclass(frozen=True)
class EligibilityInput:
    """What the eligibility review reads; anything may be missing (it is then flagged).

    ``pregnancy`` is ``"excluded"``, ``"positive"`` or ``"not_applicable"`` (None: not yet
    known). ``extensive_liver_disease`` and ``extensive_bone_disease`` are the specialist's call.
    """

    planned_first_dose: dt.date | None = None
    sstr_imaging: SstrImaging | None = None
    differentiation: Differentiation | str | None = None
    ki67_percent: Fraction | None = None
    mitoses_per_2mm2: Fraction | None = None
    gep_primary: bool | None = None
    metastatic_or_unresectable: bool | None = None
    progression_on_ssa: bool | None = None
    patient: Patient | None = None
    pregnancy: str | None = None
    labs: Labs = Labs()
    karnofsky: int | None = None
    ecog: int | None = None
    extensive_liver_disease: bool | None = None
    extensive_bone_disease: bool | None = None
    last_long_acting_ssa: dt.date | None = None

    def __post_init__(self) -> None:
        if self.karnofsky is not None and (
            isinstance(self.karnofsky, bool) or self.karnofsky not in range(0, 101, 10)
        ):
            raise RulesInputError("karnofsky", "must be 0–100 in steps of 10")
        if self.ecog is not None and (isinstance(self.ecog, bool) or self.ecog not in range(6)):
            raise RulesInputError("ecog", "must be a whole number 0–5")
        if self.pregnancy not in PREGNANCY_STATUSES:
            raise RulesInputError("pregnancy", "must be 'excluded', 'positive', "
                                  "'not_applicable' or absent")


def _f(code: str, severity: Severity, reason: str, values: dict[str, str] | None = None,
       thresholds: dict[str, str] | None = None) -> Finding:
    return Finding(f"ELIGIBILITY.{code}", severity, reason, values or {}, thresholds or {})


def long_acting_ssa_finding(last_injection: dt.date, dose_date: dt.date,
                            config: RulesConfig = DEFAULT_CONFIG) -> Finding | None:
    """The long-acting SSA washout before a dose: block under 28 days, warn under 30."""
    gap = (dose_date - last_injection).days
    values = {"days_since_last_injection": str(gap)}
    thresholds = {"block_below_days": str(config.ssa_washout_block_days),
                  "warn_below_days": str(config.ssa_washout_warn_days)}
    text = (f"The last long-acting SSA injection ({last_injection}) is {gap} days before the "
            f"dose on {dose_date}")
    if gap < config.ssa_washout_block_days:
        return _f("SSA_WASHOUT_TOO_SHORT", Severity.BLOCK,
                  f"{text}: at least {config.ssa_washout_block_days} days are required.",
                  values, thresholds)
    if gap < config.ssa_washout_warn_days:
        return _f("SSA_WASHOUT_SHORT", Severity.WARNING,
                  f"{text}: under the {config.ssa_washout_warn_days} days of the older EU text.",
                  values, thresholds)
    return None


def short_acting_ssa_finding(last_injection: dt.datetime, dose_at: dt.datetime,
                             config: RulesConfig = DEFAULT_CONFIG) -> Finding | None:
    """Short-acting octreotide: none in the 24 h before a dose (an injection after the dose is
    not before it). Both times must be aware."""
    for name, value in (("last_injection", last_injection), ("dose_at", dose_at)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise RulesInputError(name, "must be a datetime with a time zone")
    gap = dose_at - last_injection
    limit = dt.timedelta(hours=config.short_acting_ssa_gap_hours)
    if dt.timedelta(0) <= gap < limit:
        hours = Fraction(int(gap.total_seconds()), 3600)
        shown = fmt_cmp(hours, config.short_acting_ssa_gap_hours, places=1)
        return _f("SHORT_ACTING_SSA_TOO_CLOSE", Severity.BLOCK,
                  f"Short-acting octreotide was given {shown} h before the dose: none in "
                  f"the {config.short_acting_ssa_gap_hours} h before it.",
                  {"hours_before_dose": shown},
                  {"minimum_hours": str(config.short_acting_ssa_gap_hours)})
    return None


def pregnancy_finding(*, sex: str | None, status: str | None, tested_on: dt.date | None,
                      stated_by: str | None, dose_date: dt.date, today: dt.date,
                      config: RulesConfig = DEFAULT_CONFIG) -> Finding | None:
    """Pregnancy before the first dose (§2), for a patient who can become pregnant: a negative
    test (``status`` ``"excluded"``) taken within the pre-dose lab window before the dose, or
    ``"not_applicable"`` with who said so. Men need none. Anything else blocks the first dose;
    None means nothing is missing."""
    if sex == "M":
        return None
    if status not in PREGNANCY_STATUSES:
        raise RulesInputError("pregnancy", "must be 'excluded', 'positive', 'not_applicable' "
                              "or absent")
    if tested_on is not None and tested_on > today:
        raise RulesInputError("pregnancy_tested_on", f"{tested_on} is in the future")
    window = config.pre_dose_lab_window_days
    if status == "positive":
        when = f" on {tested_on}" if tested_on else ""
        return _f("PREGNANT", Severity.BLOCK,
                  f"Pregnancy test positive{when}: PRRT must not be given.")
    if status == "not_applicable":
        if stated_by and stated_by.strip():
            return None
        return _f("PREGNANCY_NOT_APPLICABLE_UNATTRIBUTED", Severity.BLOCK,
                  "Pregnancy testing is marked not applicable, but not who said so: record who "
                  "confirmed it before the first dose.")
    if status == "excluded" and tested_on is not None:
        age = (dose_date - tested_on).days
        if age <= window:
            return None
        return _f("PREGNANCY_TEST_TOO_OLD", Severity.BLOCK,
                  f"The negative pregnancy test of {tested_on} is {age} days before the first "
                  f"dose on {dose_date}, more than {window} days: repeat it.",
                  {"days_before_dose": str(age)}, {"days_before_dose": f"<= {window}"})
    return _f("PREGNANCY_TEST_MISSING", Severity.BLOCK,
              f"No pregnancy test result before the first dose: record a negative test taken "
              f"within {window} days before it, or 'not applicable' with who said so.")


def eligibility_findings(
    inp: EligibilityInput, today: dt.date, config: RulesConfig = DEFAULT_CONFIG
) -> list[Finding]:
    """Every eligibility flag, most severe first. An empty list means nothing to flag."""
    dose_day = inp.planned_first_dose or today
    found: list[Finding] = []
    found += _sstr(inp, today, dose_day, config)
    found += _tumour(inp, config)
    found += _indication(inp)
    found += _labs(inp, config)
    found += _performance(inp, config)
    for flag, where in ((inp.extensive_liver_disease, "liver"),
                        (inp.extensive_bone_disease, "bone")):
        if flag:
            found.append(_f(f"EXTENSIVE_{where.upper()}_DISEASE", Severity.REVIEW,
                            f"Extensive {where} disease recorded by the specialist: review."))
    if inp.last_long_acting_ssa is not None:
        if inp.last_long_acting_ssa > today:
            raise RulesInputError("last_long_acting_ssa", "is in the future")
        washout = long_acting_ssa_finding(inp.last_long_acting_ssa, dose_day, config)
        if washout:
            found.append(washout)
    order = {Severity.BLOCK: 0, Severity.REVIEW: 1, Severity.WARNING: 2}
    return sorted(found, key=lambda f: order[f.severity])


def _sstr(inp: EligibilityInput, today: dt.date, dose_day: dt.date,
          config: RulesConfig) -> list[Finding]:
    imaging = inp.sstr_imaging
    if imaging is None:
        return [_f("SSTR_IMAGING_MISSING", Severity.REVIEW,
                   "No SSTR imaging recorded: SSTR-positive disease must be shown first.")]
    if imaging.date > today:
        raise RulesInputError("sstr_imaging.date", f"{imaging.date} is in the future")
    found = []
    if not imaging.positive:
        found.append(_f("SSTR_NEGATIVE", Severity.BLOCK,
                        f"{imaging.modality} on {imaging.date} is not SSTR-positive: PRRT "
                        "is indicated for SSTR-positive disease only."))
    oldest = add_months(dose_day, -config.sstr_imaging_max_age_months)
    if imaging.date < oldest:
        found.append(_f("SSTR_IMAGING_TOO_OLD", Severity.REVIEW,
                        f"{imaging.modality} on {imaging.date} is more than "
                        f"{config.sstr_imaging_max_age_months} months before {dose_day}: "
                        "request a new scan.",
                        {"imaging_date": str(imaging.date)}, {"not_before": str(oldest)}))
    return found


def _tumour(inp: EligibilityInput, config: RulesConfig) -> list[Finding]:
    if not inp.differentiation:
        return [_f("DIFFERENTIATION_MISSING", Severity.REVIEW,
                   "Tumour differentiation not recorded: the grade cannot be set.")]
    result = tumour_grade(inp.differentiation, inp.ki67_percent, inp.mitoses_per_2mm2)
    values = {k: fmt(Fraction(v)) for k, v in
              (("ki67_percent", inp.ki67_percent), ("mitoses_per_2mm2", inp.mitoses_per_2mm2))
              if v is not None}
    found = []
    text = " ".join(result.reasons)
    if result.grade is Grade.NEC:
        found.append(_f("NEC", Severity.BLOCK, f"{text} NEC is not eligible for PRRT.", values))
    elif result.grade is Grade.G3:
        found.append(_f("NET_G3", Severity.REVIEW, f"{text} NET G3: MDT review.", values,
                        {"ki67_percent": "> 20", "mitoses_per_2mm2": "> 20"}))
    elif result.grade is Grade.UNKNOWN:
        found.append(_f("GRADE_UNKNOWN", Severity.REVIEW, text))
    limit = config.eligibility_ki67_review_above_percent
    if result.grade is not Grade.NEC and inp.ki67_percent is not None and (
        Fraction(inp.ki67_percent) > limit
    ):
        found.append(_f("KI67_HIGH", Severity.REVIEW,
                        f"Ki-67 {fmt_cmp(Fraction(inp.ki67_percent), limit)} % is above "
                        f"{fmt(limit)} %: "
                        "review.", values, {"ki67_percent": f"> {fmt(limit)}"}))
    return found


def _indication(inp: EligibilityInput) -> list[Finding]:
    found = []
    checks = (
        (inp.gep_primary, "GEP_PRIMARY", "a gastroenteropancreatic primary"),
        (inp.metastatic_or_unresectable, "METASTATIC_OR_UNRESECTABLE",
         "metastatic or unresectable disease"),
    )
    for value, code, what in checks:
        if value is False:
            found.append(_f(f"NOT_{code}", Severity.REVIEW,
                            f"The label indication needs {what}: review."))
        elif value is None:
            found.append(_f(f"{code}_UNKNOWN", Severity.WARNING, f"Not recorded: {what}."))
    if not inp.progression_on_ssa:
        found.append(_f("NO_PROGRESSION_ON_SSA", Severity.WARNING,
                        "Progression on first-line SSA (progression, persistent symptoms, growing "
                        "tumour burden on CT/MRI or worsening organ function) is not recorded."))
    sex = inp.patient.sex if inp.patient else None
    if inp.pregnancy == "positive":
        found.append(_f("PREGNANT", Severity.BLOCK, "Pregnancy test positive: PRRT must not be "
                        "given."))
    elif inp.pregnancy not in {"excluded", "not_applicable"} and sex != "M":
        found.append(_f("PREGNANCY_NOT_EXCLUDED", Severity.WARNING,
                        "Pregnancy must be excluded before the first dose."))
    return found


def _labs(inp: EligibilityInput, config: RulesConfig) -> list[Finding]:
    labs, found = inp.labs, []
    lower_limits = (
        ("HEMOGLOBIN_LOW", labs.hemoglobin, config.eligibility_hemoglobin_min_g_l,
         "haemoglobin", "g/L"),
        ("WHITE_CELLS_LOW", labs.white_cells, config.eligibility_white_cells_min,
         "white cells", "×10⁹/L"),
        ("PLATELETS_LOW", labs.platelets, config.eligibility_platelets_min, "platelets",
         "×10⁹/L"),
        ("ALBUMIN_LOW", labs.albumin, config.eligibility_albumin_min_g_l, "albumin", "g/L"),
    )
    for code, lab, minimum, name, unit in lower_limits:
        if lab is None:
            found.append(_f(f"{code.rsplit('_', 1)[0]}_MISSING", Severity.WARNING,
                            f"No {name} result: not evaluated."))
        elif lab.canonical < minimum:
            found.append(_f(code, Severity.REVIEW,
                            f"{sentence(name)} {fmt_cmp(lab.canonical, minimum)} {unit} is below "
                            f"{fmt(minimum)} {unit}: review bone marrow or hepatic reserve.",
                            {name: fmt(lab.canonical)}, {name: f"< {fmt(minimum)}"}))
    found += _bilirubin(inp, config)
    found += _renal(inp, config)
    return found


def _bilirubin(inp: EligibilityInput, config: RulesConfig) -> list[Finding]:
    lab = inp.labs.bilirubin
    if lab is None or lab.uln_canonical is None:
        return [_f("BILIRUBIN_MISSING", Severity.WARNING,
                   "No bilirubin result with its ULN: not evaluated.")]
    ratio, limit = lab.canonical / lab.uln_canonical, config.eligibility_bilirubin_max_x_uln
    if ratio > limit:
        return [_f("BILIRUBIN_HIGH", Severity.REVIEW,
                   f"Bilirubin is {fmt_near(ratio, limit, 2)} × ULN, above {fmt(limit)} × ULN: "
                   "review hepatic reserve.", {"bilirubin_x_uln": fmt(ratio)},
                   {"bilirubin_x_uln": f"> {fmt(limit)}"})]
    return []


def _renal(inp: EligibilityInput, config: RulesConfig) -> list[Finding]:
    lab, patient = inp.labs.creatinine, inp.patient
    if lab is None or patient is None:
        return [_f("CRCL_MISSING", Severity.WARNING, "Creatinine clearance not evaluated: "
                   "creatinine, sex, age and weight are needed.")]
    crcl = creatinine_clearance(age_years=patient.age_years, weight_kg=patient.weight_kg,
                                sex=patient.sex, creatinine=lab)
    block, review = config.eligibility_crcl_block_below, config.eligibility_crcl_review_below
    values = {"crcl_ml_min": crcl.display}
    if crcl.ml_min < block:
        return [_f("CRCL_BELOW_30", Severity.BLOCK,
                   f"Creatinine clearance {fmt_near(crcl.ml_min, block)} mL/min is below "
                   f"{fmt(block)} mL/min ({crcl.formula}): not eligible.", values,
                   {"crcl_ml_min": f"< {fmt(block)}"})]
    if crcl.ml_min < review:
        return [_f("CRCL_REDUCED", Severity.REVIEW,
                   f"Creatinine clearance {fmt_near(crcl.ml_min, review)} mL/min is "
                   f"{fmt(block)}–{fmt(review)} mL/min ({crcl.formula}): review.", values,
                   {"crcl_ml_min": f"{fmt(block)} to < {fmt(review)}"})]
    return []


def _performance(inp: EligibilityInput, config: RulesConfig) -> list[Finding]:
    found = []
    if inp.karnofsky is not None and inp.karnofsky < config.eligibility_karnofsky_min:
        found.append(_f("KARNOFSKY_LOW", Severity.REVIEW,
                        f"Karnofsky {inp.karnofsky} is below {config.eligibility_karnofsky_min}: "
                        "poor performance status, review.", {"karnofsky": str(inp.karnofsky)},
                        {"karnofsky": f"< {config.eligibility_karnofsky_min}"}))
    if inp.ecog is not None and inp.ecog > config.eligibility_ecog_max:
        found.append(_f("ECOG_HIGH", Severity.REVIEW,
                        f"ECOG {inp.ecog} is above {config.eligibility_ecog_max}: poor "
                        "performance status, review.", {"ecog": str(inp.ecog)},
                        {"ecog": f"> {config.eligibility_ecog_max}"}))
    if inp.karnofsky is None and inp.ecog is None:
        found.append(_f("PERFORMANCE_STATUS_MISSING", Severity.WARNING,
                        "Performance status (Karnofsky or ECOG) not recorded."))
    return found


# --- the checklist: every Table 1 criterion, passed or not ------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One criterion of Table 1 as evaluated: ``passed`` is True (met), False (not met: a block
    or review finding, or the value says no) or None (not evaluated: the value is missing).
    ``value`` and ``threshold`` are display strings; ``inputs`` names the inputs it read (so the
    caller can give each value's date and source); ``findings`` are the flags of
    :func:`eligibility_findings` that belong to it (warnings too, on a criterion that passed)."""

    code: str
    label: str
    passed: bool | None
    value: str
    threshold: str
    inputs: tuple[str, ...]
    findings: tuple[Finding, ...] = ()

    @property
    def severity(self) -> Severity | None:
        """The most severe of its findings, or None."""
        for severity in (Severity.BLOCK, Severity.REVIEW, Severity.WARNING):
            if any(f.severity == severity for f in self.findings):
                return severity
        return None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "label": self.label,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "inputs": list(self.inputs),
            "severity": None if self.severity is None else str(self.severity),
            "findings": [f.as_dict() for f in self.findings],
        }


def _yes_no(value: bool | None, yes: str = "Yes", no: str = "No") -> str:
    return "Not recorded" if value is None else (yes if value else no)


def eligibility_checklist(
    inp: EligibilityInput, today: dt.date, config: RulesConfig = DEFAULT_CONFIG
) -> list[Criterion]:
    """Every criterion of Table 1 in order, each with its value, threshold and whether it
    passed, built on :func:`eligibility_findings` (whose output is unchanged): every finding it
    returns belongs to exactly one criterion here. Same input errors as it."""
    findings = eligibility_findings(inp, today, config)
    by_code = {f.code.removeprefix("ELIGIBILITY."): f for f in findings}
    used: set[str] = set()
    dose_day = inp.planned_first_dose or today
    items: list[Criterion] = []

    def add(code: str, label: str, codes: tuple[str, ...], inputs: tuple[str, ...], value: str,
            threshold: str, *, missing: tuple[str, ...] = (),
            passed: bool | None | str = "from findings") -> None:
        mine = tuple(by_code[c] for c in codes if c in by_code)
        used.update(c for c in codes if c in by_code)
        if passed == "from findings":
            if any(c in by_code for c in missing):
                passed = None
            else:
                passed = not any(f.severity in (Severity.BLOCK, Severity.REVIEW) for f in mine)
        items.append(Criterion(f"ELIGIBILITY.{code}", label, passed, value, threshold, inputs,
                               mine))

    # Inclusion
    imaging = inp.sstr_imaging
    oldest = add_months(dose_day, -config.sstr_imaging_max_age_months)
    add("SSTR_POSITIVE", "SSTR-positive disease on SSTR imaging",
        ("SSTR_IMAGING_MISSING", "SSTR_NEGATIVE", "SSTR_IMAGING_TOO_OLD"), ("sstr_imaging",),
        "Not recorded" if imaging is None else
        f"{'Positive' if imaging.positive else 'Not positive'}: {imaging.modality} on "
        f"{imaging.date}",
        f"Positive, on or after {oldest} ({config.sstr_imaging_max_age_months} months before "
        f"the first dose on {dose_day})", missing=("SSTR_IMAGING_MISSING",))
    grade_value = "Not recorded"
    if inp.differentiation:
        result = tumour_grade(inp.differentiation, inp.ki67_percent, inp.mitoses_per_2mm2)
        grade_value = ("Grade unknown" if result.grade is Grade.UNKNOWN
                       else "NEC" if result.grade is Grade.NEC else f"NET {result.grade}")
    add("GRADE_G1_G2", "Well-differentiated NET G1 or G2",
        ("DIFFERENTIATION_MISSING", "NEC", "NET_G3", "GRADE_UNKNOWN"),
        ("differentiation", "ki67_percent", "mitoses_per_2mm2"), grade_value,
        "NET G1 or G2 (NET G3: MDT review; NEC: not eligible)",
        missing=("DIFFERENTIATION_MISSING", "GRADE_UNKNOWN"))
    ki67_limit = config.eligibility_ki67_review_above_percent
    add("KI67", f"Ki-67 at most {fmt(ki67_limit)} %", ("KI67_HIGH",), ("ki67_percent",),
        "Not recorded" if inp.ki67_percent is None
        else f"{fmt(Fraction(inp.ki67_percent))} %",
        f"≤ {fmt(ki67_limit)} % (above: review)",
        passed=None if inp.ki67_percent is None else "from findings")
    add("GEP_PRIMARY", "Gastroenteropancreatic primary",
        ("NOT_GEP_PRIMARY", "GEP_PRIMARY_UNKNOWN"), ("gep_primary",),
        _yes_no(inp.gep_primary), "Yes (label indication)", missing=("GEP_PRIMARY_UNKNOWN",))
    add("METASTATIC_OR_UNRESECTABLE", "Metastatic or unresectable disease",
        ("NOT_METASTATIC_OR_UNRESECTABLE", "METASTATIC_OR_UNRESECTABLE_UNKNOWN"),
        ("metastatic_or_unresectable",), _yes_no(inp.metastatic_or_unresectable),
        "Yes (label indication)", missing=("METASTATIC_OR_UNRESECTABLE_UNKNOWN",))
    add("PROGRESSION_ON_SSA", "Progression on first-line SSA", ("NO_PROGRESSION_ON_SSA",),
        ("progression_on_ssa",), _yes_no(inp.progression_on_ssa),
        "Progression, persistent symptoms, growing tumour burden or worsening organ function "
        "on an SSA (absent: a warning)", passed=inp.progression_on_ssa)
    sex = inp.patient.sex if inp.patient else None
    pregnancy_value = {"excluded": "Excluded", "positive": "Positive test",
                       "not_applicable": "Not applicable"}.get(inp.pregnancy or "",
                                                               "Not recorded")
    if sex == "M" and inp.pregnancy != "positive":
        pregnancy_value = "Not applicable (male)"
    add("PREGNANCY_EXCLUDED", "Pregnancy excluded before the first dose",
        ("PREGNANT", "PREGNANCY_NOT_EXCLUDED"), ("pregnancy",), pregnancy_value,
        "Excluded, or not applicable", missing=("PREGNANCY_NOT_EXCLUDED",))

    # Exclusion flags: the labs
    labs = inp.labs
    for code, lab, minimum, label, unit, lab_input in (
        ("HEMOGLOBIN", labs.hemoglobin, config.eligibility_hemoglobin_min_g_l, "Haemoglobin",
         "g/L", "hemoglobin"),
        ("WHITE_CELLS", labs.white_cells, config.eligibility_white_cells_min, "White cells",
         "×10⁹/L", "white_cells"),
        ("PLATELETS", labs.platelets, config.eligibility_platelets_min, "Platelets", "×10⁹/L",
         "platelets"),
        ("ALBUMIN", labs.albumin, config.eligibility_albumin_min_g_l, "Albumin", "g/L",
         "albumin"),
    ):
        add(code, f"{label} at least {fmt(minimum)} {unit}", (f"{code}_LOW", f"{code}_MISSING"),
            (f"labs.{lab_input}",),
            "Not recorded" if lab is None else f"{fmt_cmp(lab.canonical, minimum)} {unit}",
            f"≥ {fmt(minimum)} {unit} (below: review)", missing=(f"{code}_MISSING",))
    bilirubin = labs.bilirubin
    limit = config.eligibility_bilirubin_max_x_uln
    bilirubin_value = "Not recorded"
    if bilirubin is not None:
        bilirubin_value = f"{fmt(bilirubin.canonical)} µmol/L"
        if bilirubin.uln_canonical is not None:
            ratio = bilirubin.canonical / bilirubin.uln_canonical
            bilirubin_value += (f", {fmt_cmp(ratio, limit)} × ULN (ULN "
                                f"{fmt(bilirubin.uln_canonical)} µmol/L)")
        else:
            bilirubin_value += ", no ULN"
    add("BILIRUBIN", f"Total bilirubin at most {fmt(limit)} × ULN",
        ("BILIRUBIN_HIGH", "BILIRUBIN_MISSING"), ("labs.bilirubin",), bilirubin_value,
        f"≤ {fmt(limit)} × ULN (above: review)", missing=("BILIRUBIN_MISSING",))
    block, review = config.eligibility_crcl_block_below, config.eligibility_crcl_review_below
    crcl_value = "Not evaluated"
    if labs.creatinine is not None and inp.patient is not None:
        crcl = creatinine_clearance(age_years=inp.patient.age_years,
                                    weight_kg=inp.patient.weight_kg, sex=inp.patient.sex,
                                    creatinine=labs.creatinine)
        crcl_value = (f"{fmt_near(crcl.ml_min, review)} mL/min (Cockcroft–Gault: "
                      f"{crcl.formula})")
    add("CRCL", f"Creatinine clearance at least {fmt(review)} mL/min",
        ("CRCL_BELOW_30", "CRCL_REDUCED", "CRCL_MISSING"), ("labs.creatinine", "patient"),
        crcl_value, f"≥ {fmt(review)} mL/min ({fmt(block)} to under {fmt(review)}: review; "
                    f"under {fmt(block)}: not eligible)", missing=("CRCL_MISSING",))

    # Performance status, extent of disease, the SSA washout
    shown = [f"Karnofsky {inp.karnofsky}" if inp.karnofsky is not None else "",
             f"ECOG {inp.ecog}" if inp.ecog is not None else ""]
    add("PERFORMANCE_STATUS",
        f"Karnofsky at least {config.eligibility_karnofsky_min} (ECOG at most "
        f"{config.eligibility_ecog_max})",
        ("KARNOFSKY_LOW", "ECOG_HIGH", "PERFORMANCE_STATUS_MISSING"), ("karnofsky", "ecog"),
        "; ".join(s for s in shown if s) or "Not recorded",
        f"Karnofsky ≥ {config.eligibility_karnofsky_min}, ECOG ≤ "
        f"{config.eligibility_ecog_max} (otherwise: review)",
        missing=("PERFORMANCE_STATUS_MISSING",))
    for flag, where in ((inp.extensive_liver_disease, "liver"),
                        (inp.extensive_bone_disease, "bone")):
        add(f"NO_EXTENSIVE_{where.upper()}_DISEASE", f"No extensive {where} disease",
            (f"EXTENSIVE_{where.upper()}_DISEASE",), (f"extensive_{where}_disease",),
            "Not assessed" if flag is None else ("Extensive" if flag else "Not extensive"),
            "Not extensive (the specialist's call; extensive: review)",
            passed=None if flag is None else not flag)
    last = inp.last_long_acting_ssa
    add("SSA_WASHOUT",
        f"Last long-acting SSA at least {config.ssa_washout_block_days} days before the dose",
        ("SSA_WASHOUT_TOO_SHORT", "SSA_WASHOUT_SHORT"), ("last_long_acting_ssa",),
        "No long-acting SSA injection recorded" if last is None else
        f"{last}, {(dose_day - last).days} days before {dose_day}",
        f"≥ {config.ssa_washout_block_days} days (under {config.ssa_washout_warn_days}: a "
        "warning)", passed=None if last is None else "from findings")

    # A flag no criterion above holds (none today) is listed on its own, never dropped.
    for code, finding in by_code.items():
        if code not in used:
            items.append(Criterion(finding.code, finding.reason, False if finding.severity in (
                Severity.BLOCK, Severity.REVIEW) else None, "", "", (), (finding,)))
    return items
