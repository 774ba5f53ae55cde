"""The dose-modification triggers of §4.3, each with its values, threshold and a sentence.

Categories: thrombocytopenia (platelets grade ≥ 2), anaemia (haemoglobin grade ≥ 3), neutropenia
(neutrophils grade ≥ 3), renal (CrCl < 40 mL/min, creatinine ≥ 1.40 × baseline, or CrCl ≤ 0.60 ×
baseline CrCl), hepatic (bilirubin > 3 × ULN, or albumin < 30 g/L with a prothrombin ratio
< 70 %), other (AST/ALT > 5 × ULN or another treatment-related adverse event of grade ≥ 3) and
hypersensitivity (grade 3–4, whatever its relatedness). Isolated lymphopenia needs no change;
white cells are a note, neutrophils decide. Blood-count adverse-event terms are judged in their
lab category, never as "other" (§4.4, settled readings).

A rule that lacks its inputs says so instead of guessing: the missing decision-panel inputs are
listed by field path (§4.5), and a rule a person must look at is a ``review`` finding. Every
number in a sentence is printed so that the comparison printed beside it is true (§4.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .config import RulesConfig
from .ctcae import CtcaeGrade, below_bound, grade_lab, grade_thresholds
from .explain import Finding, Severity, fmt_cmp, fmt_exact, fmt_fixed_cmp, sentence
from .inputs import AdverseEvent, Category, DoseInput
from .renal import CreatinineClearance, creatinine_clearance
from .units import BILIRUBIN_UMOL_PER_MG_DL, CREATININE_UMOL_PER_MG_DL, Analyte, LabValue

CRCL_MINIMUM = Fraction(40)
CREATININE_RISE_RATIO = Fraction(140, 100)
CRCL_FALL_RATIO = Fraction(60, 100)
BILIRUBIN_X_ULN = Fraction(3)
ALBUMIN_MINIMUM_G_L = Fraction(30)
PROTHROMBIN_RATIO_MINIMUM = Fraction(70)
TRANSAMINASE_X_ULN = Fraction(5)
FORTY_PERCENT = Fraction(40)

# Haematological categories decided by a lab's CTCAE grade: (analyte, minimum grade, name).
_HAEMATOLOGICAL = (
    (Category.THROMBOCYTOPENIA, Analyte.PLATELETS, 2, "platelets"),
    (Category.ANAEMIA, Analyte.HEMOGLOBIN, 3, "haemoglobin"),
    (Category.NEUTROPENIA, Analyte.NEUTROPHILS, 3, "neutrophils"),
)
# The smallest adverse-event grade that triggers, by category (§4.3).
_AE_MINIMUM_GRADE = {Category.THROMBOCYTOPENIA: 2}
# Free adverse-event terms that belong to a category; any other term is "other".
_TERM_CATEGORIES = {
    "anaphylaxis": Category.HYPERSENSITIVITY,
    "anaphylactic reaction": Category.HYPERSENSITIVITY,
    "allergic reaction": Category.HYPERSENSITIVITY,
    "hypersensitivity": Category.HYPERSENSITIVITY,
    "infusion related reaction": Category.HYPERSENSITIVITY,
    "infusion-related reaction": Category.HYPERSENSITIVITY,
    "angioedema": Category.HYPERSENSITIVITY,
    "platelet count decreased": Category.THROMBOCYTOPENIA,
    "thrombocytopenia": Category.THROMBOCYTOPENIA,
    "anemia": Category.ANAEMIA,
    "anaemia": Category.ANAEMIA,
    "neutrophil count decreased": Category.NEUTROPENIA,
    "neutropenia": Category.NEUTROPENIA,
}
# Blood-count terms that never trigger: white cells and lymphocytes are notes (§4.4).
_NOTE_TERMS = {
    "white blood cell decreased": "a low white-cell count is a note: neutrophils decide",
    "leukopenia": "a low white-cell count is a note: neutrophils decide",
    "lymphocyte count decreased": "isolated lymphopenia needs no dose change",
    "lymphopenia": "isolated lymphopenia needs no dose change",
}
# The categories judged as in the labs: relatedness does not enter, as it does not for a lab.
_LAB_CATEGORIES = {Category.THROMBOCYTOPENIA, Category.ANAEMIA, Category.NEUTROPENIA}
# Human names of the decision-panel inputs (§4.5), for "No recommendation yet: missing …".
INPUT_NAMES = {
    "labs.platelets": "platelets",
    "labs.hemoglobin": "haemoglobin",
    "labs.neutrophils": "neutrophils",
    "labs.creatinine": "creatinine",
    "labs.bilirubin": "bilirubin (with its ULN)",
    "labs.bilirubin.uln": "the bilirubin ULN",
    "labs.albumin": "albumin",
    "labs.prothrombin_ratio_percent": "prothrombin ratio (albumin is below 30 g/L)",
    "patient.sex": "sex",
    "patient.age_years": "age",
    "patient.weight_kg": "weight",
}


@dataclass(frozen=True)
class Trigger:
    """One §4.3 trigger: category, machine-readable criterion, the compared value and threshold
    (exact), their unit, the comparison that held and a sentence."""

    category: Category
    criterion: str
    value: Fraction
    threshold: Fraction
    unit: str
    comparison: str
    reason: str


@dataclass(frozen=True)
class TriggerEvaluation:
    """All triggers found, the CTCAE grades, the creatinine clearances, sentences about rules
    that did not fire, and findings for a specialist (missing inputs, manual review)."""

    triggers: tuple[Trigger, ...]
    grades: tuple[CtcaeGrade, ...]
    crcl: CreatinineClearance | None
    baseline_crcl: CreatinineClearance | None
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]
    missing_inputs: tuple[str, ...] = ()

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(t.category for t in self.triggers)


@dataclass
class _Collector:
    triggers: list[Trigger] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    missing_inputs: list[str] = field(default_factory=list)

    def missing(self, code: str, paths: tuple[str, ...], reason: str) -> None:
        """A decision-panel input is absent: listed by path, and said in the reasons."""
        self.missing_inputs.extend(p for p in paths if p not in self.missing_inputs)
        self.findings.append(Finding(f"DOSE.INPUT_MISSING.{code}", Severity.WARNING, reason))

    def review(self, code: str, reason: str, values: dict[str, str] | None = None,
               thresholds: dict[str, str] | None = None) -> None:
        """A rule that could not be evaluated, or that a person must look at (§4.5)."""
        self.findings.append(Finding(code, Severity.REVIEW, reason, values or {},
                                     thresholds or {}))


def evaluate_triggers(inp: DoseInput, config: RulesConfig) -> TriggerEvaluation:
    """Evaluate every §4.3 category on the pre-dose labs and reported adverse events."""
    out = _Collector()
    grades = tuple(grade_lab(lab, config) for lab in inp.labs.present())
    by_analyte = {g.analyte: g for g in grades}
    _haematological(inp, by_analyte, config, out)
    crcl, baseline_crcl = _renal(inp, out)
    _hepatic(inp, out)
    _other_labs(inp, by_analyte, config, out)
    for event in inp.adverse_events:
        _adverse_event(event, out)
    return TriggerEvaluation(tuple(out.triggers), grades, crcl, baseline_crcl,
                             tuple(out.notes), tuple(out.findings), tuple(out.missing_inputs))


def _haematological(inp: DoseInput, grades: dict[Analyte, CtcaeGrade], config: RulesConfig,
                    out: _Collector) -> None:
    for category, analyte, minimum, name in _HAEMATOLOGICAL:
        lab = inp.labs.get(analyte)
        if lab is None:
            out.missing(analyte.upper(), (f"labs.{analyte}",),
                        f"No {name} result: the {category} rule cannot be evaluated.")
            continue
        bound = below_bound(analyte, minimum, config)
        unit = lab.quantity.spec.display_unit
        graded = grades[analyte]
        text = f"{name} {fmt_cmp(lab.canonical, *grade_thresholds(graded, config))} {unit}"
        if lab.canonical < bound:
            out.triggers.append(Trigger(
                category, f"{analyte}_grade_{minimum}_or_worse", lab.canonical, bound,
                lab.quantity.spec.canonical_unit, "<",
                f"{sentence(category)}: {text} is below {fmt_exact(bound)} {unit} "
                f"(CTCAE {config.ctcae_version} grade {graded.grade}).",
            ))
        elif graded.grade:
            out.notes.append(f"{sentence(text)} (grade {graded.grade}) is not below "
                             f"{fmt_exact(bound)} {unit}: no {category} trigger.")


def _mg_dl_text(umol_l: Fraction, factor: Fraction, thresholds: tuple[Fraction, ...]) -> str:
    """``3.6 mg/dL (61.56 µmol/L)``, each printed on the same side of ``thresholds`` (µmol/L)
    as the exact value."""
    mg_dl = fmt_cmp(umol_l / factor, *(t / factor for t in thresholds), places=4)
    return f"{mg_dl} mg/dL ({fmt_cmp(umol_l, *thresholds)} µmol/L)"


def _crcl_text(crcl: Fraction, *thresholds: Fraction) -> str:
    """One decimal unless that would cross a threshold of the sentence (39.97, below 40)."""
    return fmt_fixed_cmp(crcl, *thresholds)


def _equals(shown: str, exact_value: Fraction) -> str:
    return "=" if Fraction(shown) == exact_value else "≈"


def _renal(inp: DoseInput, out: _Collector
           ) -> tuple[CreatinineClearance | None, CreatinineClearance | None]:
    lab = inp.labs.creatinine
    if lab is None:
        out.missing("CREATININE", ("labs.creatinine",),
                    "No creatinine result: the renal rule cannot be evaluated.")
        return None, None
    patient, baseline = inp.patient, inp.baseline
    base_lab = baseline.creatinine if baseline else None
    crcl = base_crcl = None
    if patient is None:
        out.missing("PATIENT", ("patient.sex", "patient.age_years", "patient.weight_kg"),
                    "No sex, age and weight: creatinine clearance cannot be computed.")
    else:
        crcl = creatinine_clearance(age_years=patient.age_years, weight_kg=patient.weight_kg,
                                    sex=patient.sex, creatinine=lab)
        if base_lab is not None:
            assert baseline is not None
            if baseline.weight_kg is None or baseline.age_years is None:
                out.notes.append("Baseline weight or age not given: the current value is used "
                                 "for the baseline creatinine clearance.")
            base_crcl = creatinine_clearance(
                age_years=baseline.age_years or patient.age_years,
                weight_kg=baseline.weight_kg or patient.weight_kg,
                sex=patient.sex, creatinine=base_lab)
    if base_lab is None and inp.course.doses:
        out.review("DOSE.INPUT_MISSING.BASELINE_CREATININE",
                   "Manual review: no baseline creatinine (before the first dose): the 40 % "
                   "creatinine rise and 40 % clearance fall criteria cannot be evaluated.")
    elif base_lab is None:
        out.notes.append("No baseline creatinine: before the first dose these labs are the "
                         "baseline, so the 40 % rise and fall criteria do not apply.")

    met: list[Trigger] = []
    quiet: list[str] = []
    if crcl is not None:
        if crcl.ml_min < CRCL_MINIMUM and base_crcl is not None and (
            base_crcl.ml_min < CRCL_MINIMUM
        ) and crcl.ml_min >= base_crcl.ml_min:
            _baseline_below_40(crcl, base_crcl, out)
        elif crcl.ml_min < CRCL_MINIMUM:
            shown = _crcl_text(crcl.ml_min, CRCL_MINIMUM)
            met.append(Trigger(Category.RENAL, "crcl_below_40", crcl.ml_min, CRCL_MINIMUM,
                               "mL/min", "<",
                               f"Renal: creatinine clearance {shown} mL/min is below 40 mL/min "
                               f"(Cockcroft–Gault {crcl.formula} "
                               f"{_equals(shown, crcl.ml_min)} {shown})."))
        else:
            shown = _crcl_text(crcl.ml_min, CRCL_MINIMUM)
            quiet.append(f"creatinine clearance {shown} mL/min is not below 40 mL/min "
                         f"({crcl.formula} {_equals(shown, crcl.ml_min)} {shown})")
    if base_lab is not None:
        ratio = lab.canonical / base_lab.canonical
        rise = (ratio - 1) * 100
        percent = fmt_cmp(ratio * 100, CREATININE_RISE_RATIO * 100, 100, places=1)
        shown_rise = fmt_cmp(rise, FORTY_PERCENT, 0)
        text = (f"serum creatinine {_creatinine_text(lab)} is {percent} % of baseline "
                f"{_creatinine_text(base_lab)}")
        if ratio >= CREATININE_RISE_RATIO:
            met.append(Trigger(Category.RENAL, "creatinine_rise_40_percent", rise, FORTY_PERCENT,
                               "%", "≥", f"Renal: {text}, a rise of {shown_rise} % (40 % or "
                               "more)."))
        else:
            quiet.append(f"{text}, a change of {shown_rise} % (under a 40 % rise)")
    if crcl is not None and base_crcl is not None:
        ratio = crcl.ml_min / base_crcl.ml_min
        fall = (1 - ratio) * 100
        now = _crcl_text(crcl.ml_min, base_crcl.ml_min * CRCL_FALL_RATIO)
        text = (f"creatinine clearance {now} mL/min against baseline {base_crcl.display} "
                f"mL/min, a fall of {fmt_cmp(fall, FORTY_PERCENT, 0)} %")
        if ratio <= CRCL_FALL_RATIO:
            met.append(Trigger(Category.RENAL, "crcl_fall_40_percent", fall, FORTY_PERCENT, "%",
                               "≥", f"Renal: {text} (40 % or more)."))
        else:
            quiet.append(f"{text} (under 40 %)")

    if met:
        out.triggers.extend(met)
    elif quiet:
        out.notes.append("No renal trigger: " + "; ".join(quiet) + ".")
    return crcl, base_crcl


def _baseline_below_40(crcl: CreatinineClearance, base_crcl: CreatinineClearance,
                       out: _Collector) -> None:
    """§4.4 settled reading: a baseline clearance already below 40 mL/min, not worse now, is
    the patient's baseline and no renal trigger on that criterion; a person confirms it."""
    now = _crcl_text(crcl.ml_min, CRCL_MINIMUM, base_crcl.ml_min)
    then = _crcl_text(base_crcl.ml_min, CRCL_MINIMUM, crcl.ml_min)
    out.notes.append(f"Creatinine clearance {now} mL/min is below 40 mL/min but at or better "
                     f"than baseline ({then} mL/min, already below 40 mL/min): no renal trigger "
                     "on the 40 mL/min criterion.")
    out.review("DOSE.RENAL.BASELINE_CRCL_BELOW_40",
               f"Manual review: the baseline creatinine clearance of {then} mL/min was already "
               f"below 40 mL/min and is not worse now ({now} mL/min): the 40 mL/min criterion "
               "is not applied; confirm the renal function is acceptable.",
               {"crcl_ml_min": now, "baseline_crcl_ml_min": then},
               {"crcl_ml_min": "< 40"})


def _creatinine_text(lab: LabValue) -> str:
    return _mg_dl_text(lab.canonical, CREATININE_UMOL_PER_MG_DL, ())


def _hepatic(inp: DoseInput, out: _Collector) -> None:
    labs = inp.labs
    bilirubin = labs.bilirubin
    if bilirubin is None:
        out.missing("BILIRUBIN", ("labs.bilirubin",), "No bilirubin result: the bilirubin part "
                    "of the hepatic rule cannot be evaluated.")
    elif bilirubin.uln_canonical is None:
        out.missing("BILIRUBIN_ULN", ("labs.bilirubin.uln",), "Bilirubin has no ULN: the "
                    "bilirubin part of the hepatic rule (> 3 × ULN) cannot be evaluated.")
    else:
        uln = bilirubin.uln_canonical
        ratio = bilirubin.canonical / uln
        limit = BILIRUBIN_X_ULN * uln
        text = (f"bilirubin {_mg_dl_text(bilirubin.canonical, BILIRUBIN_UMOL_PER_MG_DL, (limit,))}"
                f" is {fmt_cmp(ratio, BILIRUBIN_X_ULN)} × the ULN of "
                f"{_mg_dl_text(uln, BILIRUBIN_UMOL_PER_MG_DL, ())}")
        if ratio > BILIRUBIN_X_ULN:
            out.triggers.append(Trigger(Category.HEPATIC, "bilirubin_above_3x_uln", ratio,
                                        BILIRUBIN_X_ULN, "× ULN", ">",
                                        f"Hepatic: {text}, above 3 × ULN."))
        else:
            out.notes.append(f"No hepatic bilirubin trigger: {text}, not above 3 × ULN.")

    albumin, ratio_pt = labs.albumin, labs.prothrombin_ratio_percent
    if albumin is None:
        out.missing("ALBUMIN", ("labs.albumin",), "No albumin result: the albumin and "
                    "prothrombin part of the hepatic rule cannot be evaluated.")
        return
    text = f"albumin {fmt_cmp(albumin.canonical, ALBUMIN_MINIMUM_G_L)} g/L"
    if albumin.canonical >= ALBUMIN_MINIMUM_G_L:
        if ratio_pt is None and labs.inr is not None:
            out.notes.append(f"INR {fmt_exact(labs.inr)} noted; the prothrombin part of the "
                             f"hepatic rule is not needed because {text} is not below 30 g/L.")
        return
    if ratio_pt is not None:
        pt_text = f"prothrombin ratio {fmt_cmp(ratio_pt, PROTHROMBIN_RATIO_MINIMUM)} %"
        if ratio_pt < PROTHROMBIN_RATIO_MINIMUM:
            out.triggers.append(Trigger(
                Category.HEPATIC, "albumin_below_30_with_prothrombin_ratio_below_70",
                albumin.canonical, ALBUMIN_MINIMUM_G_L, "g/L", "<",
                f"Hepatic: {text} is below 30 g/L with {pt_text}, below 70 %."))
        else:
            out.notes.append(f"No hepatic albumin trigger: {text} is below 30 g/L but "
                             f"{pt_text} is not below 70 %.")
        return
    path = ("labs.prothrombin_ratio_percent",)
    if labs.inr is None:
        out.missing_inputs.extend(p for p in path if p not in out.missing_inputs)
        out.findings.append(Finding(
            "DOSE.HEPATIC.NO_PROTHROMBIN_RATIO", Severity.WARNING,
            f"No prothrombin ratio: {text} is below 30 g/L, and the hepatic rule needs the "
            "prothrombin ratio (Quick %); it cannot be evaluated without it.",
            values={"albumin_g_l": fmt_exact(albumin.canonical)},
            thresholds={"albumin_g_l": "< 30", "prothrombin_ratio_percent": "< 70"}))
        return
    out.missing_inputs.extend(p for p in path if p not in out.missing_inputs)
    out.review(
        "DOSE.HEPATIC.INR_WITHOUT_PROTHROMBIN_RATIO",
        f"Manual review: {text} is below 30 g/L and INR {fmt_exact(labs.inr)} is given, but "
        "no prothrombin ratio (Quick %): the hepatic rule cannot be evaluated without it, and "
        "the action is decided without it.",
        values={"albumin_g_l": fmt_exact(albumin.canonical), "inr": fmt_exact(labs.inr)},
        thresholds={"albumin_g_l": "< 30", "prothrombin_ratio_percent": "< 70"})


def _other_labs(inp: DoseInput, grades: dict[Analyte, CtcaeGrade], config: RulesConfig,
                out: _Collector) -> None:
    for analyte, name in ((Analyte.AST, "AST"), (Analyte.ALT, "ALT")):
        lab = inp.labs.get(analyte)
        if lab is None or lab.uln_canonical is None:
            continue
        uln = lab.uln_canonical
        graded = grades[analyte]
        ratio = lab.canonical / uln
        multiples = tuple(t / uln for t in grade_thresholds(graded, config))
        text = (f"{name} {fmt_cmp(lab.canonical, *grade_thresholds(graded, config))} U/L is "
                f"{fmt_cmp(ratio, *multiples)} × ULN (ULN {fmt_exact(uln)} U/L)")
        if ratio > TRANSAMINASE_X_ULN:
            out.triggers.append(Trigger(
                Category.OTHER, f"{analyte}_above_5x_uln", ratio, TRANSAMINASE_X_ULN, "× ULN",
                ">", f"Other toxicity: {text}, above 5 × ULN (grade {graded.grade})."))
        elif graded.grade:
            out.notes.append(f"{text}, not above 5 × ULN (grade {graded.grade}): no trigger.")
    lymphocytes = grades.get(Analyte.LYMPHOCYTES)
    if lymphocytes is not None and lymphocytes.grade:
        shown = fmt_cmp(lymphocytes.value, *grade_thresholds(lymphocytes, config))
        out.notes.append(f"Lymphocytes {shown} ×10⁹/L (grade {lymphocytes.grade}): isolated "
                         "lymphopenia needs no dose change.")
    white = grades.get(Analyte.WHITE_CELLS)
    if white is not None and white.grade:
        shown = fmt_cmp(white.value, *grade_thresholds(white, config))
        out.notes.append(f"White cells {shown} ×10⁹/L (grade {white.grade}): a note only; "
                         "neutrophils decide (their own rule) and lymphocytes need no change.")


def event_category(event: AdverseEvent) -> Category | None:
    """The §4.3 category an adverse event is judged in (None: a note, never a trigger).

    A named category other than "other" decides; otherwise a known term does (blood-count terms
    go to their lab category, white-cell and lymphocyte terms to no trigger); anything else is
    "other"."""
    if event.category is not None and event.category is not Category.OTHER:
        return event.category
    term = " ".join((event.term or "").strip().lower().split())
    if term in _NOTE_TERMS:
        return None
    return _TERM_CATEGORIES.get(term, Category.OTHER)


def _adverse_event(event: AdverseEvent, out: _Collector) -> None:
    term = (event.term or "").strip()
    label = term or str(event.category)
    category = event_category(event)
    if category is None:
        key = " ".join(term.lower().split())
        out.notes.append(f"Adverse event '{term}' grade {event.grade}: {_NOTE_TERMS[key]}; "
                         "no dose change.")
        return
    minimum = _AE_MINIMUM_GRADE.get(category, 3)
    if category is Category.HYPERSENSITIVITY:
        basis = ("" if event.related else
                 "; recorded as not treatment-related, but an infusion reaction is the drug's"
                 if event.related is False else
                 "; relatedness not stated: an infusion reaction is the drug's")
    elif category in _LAB_CATEGORIES:
        basis = ("" if event.related is not False else
                 "; judged as the lab value would be, whatever relatedness says")
    elif event.related is False:
        out.notes.append(f"Adverse event '{label}' grade {event.grade} ({category}) is recorded "
                         "as not treatment-related: no dose change.")
        return
    else:
        basis = ("" if event.related else
                 "; relatedness not stated: counted as treatment-related (the safe side)")
    if event.grade < minimum:
        out.notes.append(f"Adverse event '{label}' grade {event.grade} ({category}) is below "
                         f"grade {minimum}: no dose change.")
        return
    what = "discontinue at once" if category is Category.HYPERSENSITIVITY else "trigger"
    out.triggers.append(Trigger(
        category, f"adverse_event_grade_{minimum}_or_worse", Fraction(event.grade),
        Fraction(minimum), "grade", "≥",
        f"{sentence(category)}: adverse event '{label}' of grade {event.grade} "
        f"(grade {minimum} or worse: {what}{basis})."))
