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
