"""The dose-modification triggers of §4.3, each with its values, threshold and a sentence.

Categories: thrombocytopenia (platelets grade ≥ 2), anaemia (haemoglobin grade ≥ 3), neutropenia
(neutrophils grade ≥ 3), renal (CrCl < 40 mL/min, creatinine ≥ 1.40 × baseline, or CrCl ≤ 0.60 ×
baseline CrCl, unless back at baseline), hepatic (bilirubin > 3 × ULN, or albumin < 30 g/L with a
prothrombin ratio < 70 %), other (AST/ALT > 5 × ULN or another treatment-related adverse event of
grade ≥ 3) and hypersensitivity (grade 3–4). Isolated lymphopenia needs no change; white cells are
judged through their parts. A rule that lacks its inputs says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .config import RulesConfig
from .ctcae import CtcaeGrade, below_bound, grade_lab
from .explain import Finding, Severity, fmt, fmt_near, sentence
from .inputs import AdverseEvent, Category, DoseInput
from .renal import CreatinineClearance, creatinine_clearance
from .units import BILIRUBIN_UMOL_PER_MG_DL, Analyte, LabValue, creatinine_mg_dl

CRCL_MINIMUM = Fraction(40)
CREATININE_RISE_RATIO = Fraction(140, 100)
CRCL_FALL_RATIO = Fraction(60, 100)
BILIRUBIN_X_ULN = Fraction(3)
ALBUMIN_MINIMUM_G_L = Fraction(30)
PROTHROMBIN_RATIO_MINIMUM = Fraction(70)
TRANSAMINASE_X_ULN = Fraction(5)

# Haematological categories decided by a lab's CTCAE grade: (analyte, minimum grade, name).
_HAEMATOLOGICAL = (
    (Category.THROMBOCYTOPENIA, Analyte.PLATELETS, 2, "platelets"),
    (Category.ANAEMIA, Analyte.HEMOGLOBIN, 3, "haemoglobin"),
    (Category.NEUTROPENIA, Analyte.NEUTROPHILS, 3, "neutrophils"),
)
# Free adverse-event terms that belong to a category (anything else is "other").
_TERM_CATEGORIES = {
    "anaphylaxis": Category.HYPERSENSITIVITY,
    "anaphylactic reaction": Category.HYPERSENSITIVITY,
    "allergic reaction": Category.HYPERSENSITIVITY,
    "hypersensitivity": Category.HYPERSENSITIVITY,
    "angioedema": Category.HYPERSENSITIVITY,
    "platelet count decreased": Category.THROMBOCYTOPENIA,
    "thrombocytopenia": Category.THROMBOCYTOPENIA,
    "anemia": Category.ANAEMIA,
    "anaemia": Category.ANAEMIA,
    "neutrophil count decreased": Category.NEUTROPENIA,
    "neutropenia": Category.NEUTROPENIA,
}
_LYMPHOPENIA_TERMS = {"lymphopenia", "lymphocyte count decreased"}


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

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(t.category for t in self.triggers)


@dataclass
class _Collector:
    triggers: list[Trigger] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def missing(self, code: str, reason: str) -> None:
        self.findings.append(Finding(f"DOSE.INPUT_MISSING.{code}", Severity.WARNING, reason))


def evaluate_triggers(inp: DoseInput, config: RulesConfig) -> TriggerEvaluation:
    """Evaluate every §4.3 category on the pre-dose labs and reported adverse events."""
    out = _Collector()
    grades = tuple(grade_lab(lab, config) for lab in inp.labs.present())
    by_analyte = {g.analyte: g for g in grades}
    _haematological(inp, by_analyte, config, out)
    crcl, baseline_crcl = _renal(inp, out)
    _hepatic(inp, out)
    _other_labs(inp, by_analyte, out)
    for event in inp.adverse_events:
        _adverse_event(event, out)
    return TriggerEvaluation(tuple(out.triggers), grades, crcl, baseline_crcl,
                             tuple(out.notes), tuple(out.findings))


def _haematological(inp: DoseInput, grades: dict[Analyte, CtcaeGrade], config: RulesConfig,
                    out: _Collector) -> None:
    for category, analyte, minimum, name in _HAEMATOLOGICAL:
        lab = inp.labs.get(analyte)
        if lab is None:
            out.missing(analyte.upper(), f"No {name} result: the {category} rule cannot be "
                        "evaluated.")
            continue
        bound = below_bound(analyte, minimum, config)
        unit = lab.quantity.spec.display_unit
        grade = grades[analyte].grade
        text = f"{name} {fmt(lab.canonical)} {unit}"
        if lab.canonical < bound:
            out.triggers.append(Trigger(
                category, f"{analyte}_grade_{minimum}_or_worse", lab.canonical, bound,
                lab.quantity.spec.canonical_unit, "<",
                f"{sentence(category)}: {text} is below {fmt(bound)} {unit} "
                f"(CTCAE {config.ctcae_version} grade {grade}).",
            ))
        elif grade:
            out.notes.append(f"{sentence(text)} (grade {grade}) is not below {fmt(bound)} "
                             f"{unit}: no {category} trigger.")


def _bilirubin_text(umol_l: Fraction) -> str:
    return f"{fmt(umol_l / BILIRUBIN_UMOL_PER_MG_DL, 4)} mg/dL ({fmt(umol_l)} µmol/L)"


def _creatinine_text(lab: LabValue) -> str:
    return f"{fmt(creatinine_mg_dl(lab.quantity), 4)} mg/dL ({fmt(lab.canonical)} µmol/L)"


def _renal(inp: DoseInput, out: _Collector
           ) -> tuple[CreatinineClearance | None, CreatinineClearance | None]:
    lab = inp.labs.creatinine
    if lab is None:
        out.missing("CREATININE", "No creatinine result: the renal rule cannot be evaluated.")
        return None, None
    patient, baseline = inp.patient, inp.baseline
    base_lab = baseline.creatinine if baseline else None
    crcl = base_crcl = None
    if patient is None:
        out.missing("PATIENT", "No sex, age and weight: creatinine clearance cannot be computed.")
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
    if base_lab is None:
        out.missing("BASELINE_CREATININE", "No baseline creatinine: the 40 % creatinine rise "
                    "and 40 % clearance fall criteria cannot be evaluated.")

    met: list[Trigger] = []
    quiet: list[str] = []
    if crcl is not None:
        shown = fmt_near(crcl.ml_min, CRCL_MINIMUM)
        if crcl.ml_min < CRCL_MINIMUM:
            met.append(Trigger(Category.RENAL, "crcl_below_40", crcl.ml_min, CRCL_MINIMUM,
                               "mL/min", "<",
                               f"Renal: creatinine clearance {shown} mL/min is below 40 mL/min "
                               f"(Cockcroft–Gault {crcl.formula} = {shown})."))
        else:
            quiet.append(f"creatinine clearance {shown} mL/min is not below 40 mL/min "
                         f"({crcl.formula} = {shown})")
    if base_lab is not None:
        ratio = lab.canonical / base_lab.canonical
        rise = (ratio - 1) * 100
        text = (f"serum creatinine {_creatinine_text(lab)} is {fmt(ratio * 100, 1)} % of "
                f"baseline {_creatinine_text(base_lab)}")
        if ratio >= CREATININE_RISE_RATIO:
            met.append(Trigger(Category.RENAL, "creatinine_rise_40_percent", rise, Fraction(40),
                               "%", "≥", f"Renal: {text}, a rise of "
                               f"{fmt_near(rise, Fraction(40))} % (40 % or more)."))
        else:
            quiet.append(f"{text}, a change of {fmt_near(rise, Fraction(40))} % (under a "
                         "40 % rise)")
    if crcl is not None and base_crcl is not None:
        ratio = crcl.ml_min / base_crcl.ml_min
        fall = (1 - ratio) * 100
        text = (f"creatinine clearance {crcl.display} mL/min against baseline "
                f"{base_crcl.display} mL/min, a fall of {fmt_near(fall, Fraction(40))} %")
        if ratio <= CRCL_FALL_RATIO:
            met.append(Trigger(Category.RENAL, "crcl_fall_40_percent", fall, Fraction(40), "%",
                               "≥", f"Renal: {text} (40 % or more)."))
        else:
            quiet.append(f"{text} (under 40 %)")

    at_baseline = base_lab is not None and lab.canonical <= base_lab.canonical and (
        crcl is None or base_crcl is None or crcl.ml_min >= base_crcl.ml_min)
    if met and at_baseline:
        out.notes.append("Renal criteria are met (" + "; ".join(t.reason for t in met) + ") but "
                         "creatinine and clearance are at or better than baseline: no renal "
                         "trigger.")
    elif met:
        out.triggers.extend(met)
    elif quiet:
        out.notes.append("No renal trigger: " + "; ".join(quiet) + ".")
    return crcl, base_crcl


def _hepatic(inp: DoseInput, out: _Collector) -> None:
    labs = inp.labs
    bilirubin = labs.bilirubin
    if bilirubin is None:
        out.missing("BILIRUBIN", "No bilirubin result: the bilirubin part of the hepatic rule "
                    "cannot be evaluated.")
    elif bilirubin.uln_canonical is None:
        out.missing("BILIRUBIN_ULN", "Bilirubin has no ULN: the bilirubin part of the hepatic "
                    "rule (> 3 × ULN) cannot be evaluated.")
    else:
        uln = bilirubin.uln_canonical
        ratio = bilirubin.canonical / uln
        text = (f"bilirubin {_bilirubin_text(bilirubin.canonical)} is "
                f"{fmt_near(ratio, BILIRUBIN_X_ULN, 2)} × the ULN of {_bilirubin_text(uln)}")
        if ratio > BILIRUBIN_X_ULN:
            out.triggers.append(Trigger(Category.HEPATIC, "bilirubin_above_3x_uln", ratio,
                                        BILIRUBIN_X_ULN, "× ULN", ">",
                                        f"Hepatic: {text}, above 3 × ULN."))
        else:
            out.notes.append(f"No hepatic bilirubin trigger: {text}, not above 3 × ULN.")

    albumin, ratio_pt = labs.albumin, labs.prothrombin_ratio_percent
    if albumin is None:
        out.missing("ALBUMIN", "No albumin result: the albumin and prothrombin part of the "
                    "hepatic rule cannot be evaluated.")
        return
    text = f"albumin {fmt(albumin.canonical)} g/L"
    if albumin.canonical >= ALBUMIN_MINIMUM_G_L:
        if ratio_pt is None and labs.inr is not None:
            out.notes.append(f"INR {fmt(labs.inr)} noted; the prothrombin part of the hepatic "
                             f"rule is not needed because {text} is not below 30 g/L.")
        return
    if ratio_pt is not None:
        pt_text = f"prothrombin ratio {fmt(ratio_pt)} %"
        if ratio_pt < PROTHROMBIN_RATIO_MINIMUM:
            out.triggers.append(Trigger(
                Category.HEPATIC, "albumin_below_30_with_prothrombin_ratio_below_70",
                albumin.canonical, ALBUMIN_MINIMUM_G_L, "g/L", "<",
                f"Hepatic: {text} is below 30 g/L with {pt_text}, below 70 %."))
        else:
            out.notes.append(f"No hepatic albumin trigger: {text} is below 30 g/L but "
                             f"{pt_text} is not below 70 %.")
        return
    if labs.inr is not None:
        code, given = "DOSE.HEPATIC.INR_WITHOUT_PROTHROMBIN_RATIO", f"INR {fmt(labs.inr)} is given"
    else:
        code, given = "DOSE.HEPATIC.NO_PROTHROMBIN_RATIO", "no prothrombin ratio is given"
    out.findings.append(Finding(
        code, Severity.REVIEW,
        f"Manual review: {text} is below 30 g/L but {given}; the hepatic rule needs the "
        "prothrombin ratio (Quick %) and cannot be evaluated without it.",
        values={"albumin_g_l": fmt(albumin.canonical)},
        thresholds={"albumin_g_l": "< 30", "prothrombin_ratio_percent": "< 70"},
    ))


def _other_labs(inp: DoseInput, grades: dict[Analyte, CtcaeGrade], out: _Collector) -> None:
    for analyte, name in ((Analyte.AST, "AST"), (Analyte.ALT, "ALT")):
        lab = inp.labs.get(analyte)
        if lab is None:
            continue
        uln = lab.uln_canonical
        if uln is None:
            out.missing(f"{name}_ULN", f"{name} has no ULN: it cannot be graded.")
            continue
        ratio = lab.canonical / uln
        text = f"{name} {fmt(lab.canonical)} U/L is {fmt_near(ratio, TRANSAMINASE_X_ULN, 2)} × ULN"
        if ratio > TRANSAMINASE_X_ULN:
            out.triggers.append(Trigger(
                Category.OTHER, f"{analyte}_above_5x_uln", ratio, TRANSAMINASE_X_ULN, "× ULN",
                ">", f"Other toxicity: {text} ({fmt(uln)} U/L), above 5 × ULN "
                f"(grade {grades[analyte].grade})."))
    lymphocytes = grades.get(Analyte.LYMPHOCYTES)
    if lymphocytes is not None and lymphocytes.grade:
        out.notes.append(f"Lymphocytes {fmt(lymphocytes.value)} ×10⁹/L (grade "
                         f"{lymphocytes.grade}): isolated lymphopenia needs no dose change.")
    white = grades.get(Analyte.WHITE_CELLS)
    if white is not None and white.grade is not None and white.grade >= 3:
        out.notes.append(f"White cells {fmt(white.value)} ×10⁹/L (grade {white.grade}): "
                         "judged through neutrophils (own rule) and lymphocytes (no change).")


def _adverse_event(event: AdverseEvent, out: _Collector) -> None:
    term = (event.term or "").strip()
    label = term or str(event.category)
    if event.category is None and term.lower() in _LYMPHOPENIA_TERMS:
        out.notes.append(f"Adverse event '{term}' grade {event.grade}: isolated lymphopenia "
                         "needs no dose change.")
        return
    category = event.category or _TERM_CATEGORIES.get(term.lower(), Category.OTHER)
    if event.related is False:
        out.notes.append(f"Adverse event '{label}' grade {event.grade} is recorded as not "
                         "treatment-related: no dose change.")
        return
    minimum = 2 if category is Category.THROMBOCYTOPENIA else 3
    if event.grade < minimum:
        out.notes.append(f"Adverse event '{label}' grade {event.grade} ({category}) is below "
                         f"grade {minimum}: no dose change.")
        return
    presumed = "" if event.related else " (relatedness not stated: counted as treatment-related)"
    what = "discontinue at once" if category is Category.HYPERSENSITIVITY else "trigger"
    out.triggers.append(Trigger(
        category, f"adverse_event_grade_{minimum}_or_worse", Fraction(event.grade),
        Fraction(minimum), "grade", "≥",
        f"{sentence(category)}: adverse event '{label}' of grade {event.grade} "
        f"(grade {minimum} or worse: {what}){presumed}."))
