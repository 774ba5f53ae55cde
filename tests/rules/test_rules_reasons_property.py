"""§4.5: every printed comparison in a reason is true as printed. For any generated panel (values
anywhere in the plausible ranges and just either side of every threshold, in any accepted unit),
each sentence is parsed back and the number it printed is checked against the comparison it
printed beside it, and against the CTCAE grade it printed."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rules import (
    SPECS,
    AdverseEvent,
    Analyte,
    Baseline,
    Course,
    Dose,
    DoseInput,
    Labs,
    Patient,
    ctcae_grade,
    dose_decision,
    lab_value,
    render_dose_decision,
)

F = Fraction
C1 = dt.date(2025, 1, 6)
NUMBER = r"(-?\d+(?:\.\d+)?)"
UNIT = r"(?: (?:×10⁹/L|g/L|mL/min|%|U/L|µmol/L|mg/dL))?"

# Canonical thresholds a value is compared with (CTCAE bands, LLNs, §4.3 triggers).
NEAR = {
    "platelets": [F(25), F(50), F(75), F(150)],
    "hemoglobin": [F(80), F(100), F(120)],
    "neutrophils": [F("0.5"), F(1), F("1.5"), F(2)],
    "white_cells": [F(1), F(2), F(3), F(4)],
    "lymphocytes": [F("0.2"), F("0.5"), F("0.8"), F(1)],
    "albumin": [F(20), F(30), F(35)],
}
ULN_MULTIPLES = {"bilirubin": [F(1), F("1.5"), F(3), F(10)],
                 "ast": [F(1), F(3), F(5), F(20)], "alt": [F(1), F(3), F(5), F(20)]}


def near(thresholds: list[Fraction]) -> st.SearchStrategy[Fraction]:
    """A value at a threshold or a hair either side of it (down to 10⁻⁶)."""
    return st.builds(
        lambda t, digits, k, sign: t + sign * F(k, 10**digits),
        st.sampled_from(thresholds), st.integers(1, 6), st.integers(0, 9),
        st.sampled_from([-1, 1]))


def anywhere(analyte: str) -> st.SearchStrategy[Fraction]:
    spec = SPECS[Analyte(analyte)]
    low, high = spec.minimum, min(spec.maximum, F(600))
    return st.builds(lambda d, places: F(round(Decimal(str(float(d))), places)),
                     st.floats(float(low), float(high)), st.integers(0, 4))


@st.composite
def panels(draw):
    sex = draw(st.sampled_from("FM"))
    age = draw(st.integers(20, 90))
    weight = F(draw(st.integers(400, 1200)), 10)
    patient = Patient(sex, age, weight)
    factor = F(85, 100) if sex == "F" else F(1)
    labs: dict[str, object] = {}
    for analyte, thresholds in NEAR.items():
        if draw(st.integers(0, 5)) == 0:
            continue  # absent now and then: the panel may be incomplete
        value = draw(st.one_of(near(thresholds), anywhere(analyte)))
        spec = SPECS[Analyte(analyte)]
        assume(spec.minimum <= value <= spec.maximum)
        unit = draw(st.sampled_from(sorted(spec.factors)))
        labs[analyte] = lab_value(analyte, value / spec.factors[unit], unit)
    for analyte, multiples in ULN_MULTIPLES.items():
        if analyte != "bilirubin" and draw(st.booleans()):
            continue
        spec = SPECS[Analyte(analyte)]
        uln = F("20.52") if analyte == "bilirubin" else F(draw(st.integers(10, 200)))
        value = draw(st.one_of(near([m * uln for m in multiples]), anywhere(analyte)))
        assume(spec.minimum <= value <= spec.maximum)
        unit = draw(st.sampled_from(sorted(spec.factors)))
        labs[analyte] = lab_value(analyte, value / spec.factors[unit], unit,
                                  uln=uln / spec.factors[unit])
    # Creatinine: anywhere, or so that the clearance sits at a hair from 40 mL/min, or the
    # creatinine at a hair from 140 % of baseline.
    base_mg_dl = F(draw(st.integers(50, 200)), 100)
    at_40 = F(140 - age) * weight / (72 * 40) * factor
    mg_dl = draw(st.one_of(
        st.builds(lambda k: F(k, 100), st.integers(30, 600)),
        near([at_40]), near([base_mg_dl * F(140, 100)]),
    ))
    assume(F("0.1") <= mg_dl <= 25)
    unit = draw(st.sampled_from(["mg/dL", "umol/L"]))
    labs["creatinine"] = lab_value("creatinine", mg_dl * (1 if unit == "mg/dL" else F("88.4")),
                                   unit)
    ratio = draw(st.one_of(st.none(), near([F(70)]), st.integers(5, 200).map(F)))
    inr = draw(st.sampled_from([None, F("1.4")]))
    baseline = Baseline(lab_value("creatinine", base_mg_dl, "mg/dL"),
                        F(draw(st.integers(400, 1200)), 10), age)
    doses = tuple(Dose(n, C1 + dt.timedelta(days=56 * (n - 1)), F("7.4"))
                  for n in range(1, draw(st.integers(0, 3)) + 1))
    events = tuple(draw(st.lists(st.builds(
        AdverseEvent, grade=st.integers(1, 5),
        term=st.sampled_from(["Nausea", "Platelet count decreased", "Anemia",
                              "White blood cell decreased", "Anaphylaxis"]),
        related=st.sampled_from([None, True, False])), max_size=2)))
    when = (doses[-1].date if doses else C1) + dt.timedelta(days=draw(st.integers(0, 130)))
    inp = DoseInput(course=Course(doses), patient=patient, baseline=baseline,
                    labs=Labs(prothrombin_ratio_percent=ratio, inr=inr, **labs),
                    adverse_events=events)
    return inp, when


def _grade(analyte: str, value: str, **limits: str) -> int | None:
    return ctcae_grade(analyte, F(value), **{k: F(v) for k, v in limits.items()}).grade


LOWER_NAMES = {"platelets": "platelets", "haemoglobin": "hemoglobin", "hemoglobin": "hemoglobin",
               "neutrophils": "neutrophils", "white cells": "white_cells",
               "lymphocytes": "lymphocytes", "albumin": "albumin"}


def check_sentence(text: str) -> int:
    """Assert every comparison printed in `text`; return how many were checked."""
    checked = 0
    for a, negated, b in re.findall(NUMBER + UNIT + r" is (not )?below " + NUMBER, text):
        assert (F(a) >= F(b)) if negated else (F(a) < F(b)), text
        checked += 1
    for ratio, negated, limit in re.findall(
            r"is " + NUMBER + r" × the ULN of [^,]*\), (not )?above " + NUMBER + r" × ULN", text):
        assert (F(ratio) <= F(limit)) if negated else (F(ratio) > F(limit)), text
        checked += 1
    for ratio, negated, limit, grade in re.findall(
            r"is " + NUMBER + r" × ULN \(ULN [\d.]+ U/L\), (not )?above " + NUMBER
            + r" × ULN \(grade (\d)\)", text):
        assert (F(ratio) <= F(limit)) if negated else (F(ratio) > F(limit)), text
        assert _grade("ast", ratio, uln="1") == int(grade), text
        checked += 1
    for percent, rise, verdict in re.findall(
            r"is " + NUMBER + r" % of baseline [^,]*\), a (?:rise|change) of " + NUMBER
            + r" % \((40 % or more|under a 40 % rise)\)", text):
        more = verdict == "40 % or more"
        assert (F(rise) >= 40) is more and (F(percent) >= 140) is more, text
        checked += 1
    for fall, verdict in re.findall(r"a fall of " + NUMBER + r" % \((40 % or more|under 40 %)\)",
                                    text):
        assert (F(fall) >= 40) is (verdict == "40 % or more"), text
        checked += 1
    for now, then in re.findall(NUMBER + r" mL/min is below 40 mL/min but at or better than "
                                r"baseline \(" + NUMBER + r" mL/min, already below 40", text):
        assert F(then) <= F(now) < 40 and F(then) < 40, text
        checked += 1
    for ratio in re.findall(r"prothrombin ratio " + NUMBER + r" %, below 70 %", text):
        assert F(ratio) < 70, text
        checked += 1
    for name, value, grade in re.findall(
            r"(Platelets|Haemoglobin|Neutrophils|platelets|haemoglobin|neutrophils|Lymphocytes|"
            r"White cells) " + NUMBER + r" (?:×10⁹/L|g/L) \(grade (\d)\)", text):
        assert _grade(LOWER_NAMES[name.lower()], value) == int(grade), text
        checked += 1
    for name, value, grade in re.findall(
            r"(platelets|haemoglobin|neutrophils) " + NUMBER + r" (?:×10⁹/L|g/L) is below [\d.]+"
            r" (?:×10⁹/L|g/L) \(CTCAE 5\.0 grade (\d)\)", text):
        assert _grade(LOWER_NAMES[name], value) == int(grade), text
        checked += 1
    return checked


def check_grade_reason(analyte: str, reason: str) -> int:
    """A grade's reason: the printed value (and multiple of the ULN) give the printed grade."""
    upper = re.search(NUMBER + r" \S+, " + NUMBER + r" × ULN \(ULN " + NUMBER
                      + r" \S+\): grade (\d)", reason)
    if upper:
        value, ratio, uln, grade = upper.groups()
        assert _grade(analyte, value, uln=uln) == int(grade), reason
        assert _grade(analyte, ratio, uln="1") == int(grade), reason
        return 1
    lower = re.search(NUMBER + r" \S+: grade (\d)(?: \(LLN " + NUMBER + r" )?", reason)
    if lower and analyte not in ULN_MULTIPLES and analyte != "creatinine":
        value, grade, lln = lower.groups()
        limits = {"lln": lln} if lln else {}
        assert _grade(analyte, value, **limits) == int(grade), reason
        return 1
    return 0


@settings(max_examples=400, deadline=None)
@given(case=panels())
def test_every_printed_comparison_is_true_as_printed(case):
    inp, when = case
    decision = dose_decision(inp, when)
    rendered = render_dose_decision(decision, when)
    texts = [*rendered["reasons"], *(r["reason"] for r in rendered["needs_review"]),
             *(w["reason"] for w in rendered["warnings"]),
             *(t["reason"] for t in rendered["triggers"])]
    for text in texts:
        check_sentence(text)
    for analyte, grade in rendered["grades"].items():
        check_grade_reason(analyte, grade["reason"])
    for trigger in rendered["triggers"]:
        value, threshold = F(str(trigger["value"])), F(str(trigger["threshold"]))
        holds = {"<": value < threshold, ">": value > threshold,
                 "≥": value >= threshold}[trigger["comparison"]]
        assert holds, trigger
    if not decision.complete:
        assert rendered["reasons"][0].startswith("No recommendation yet: missing ")
        assert decision.action.value not in rendered["reasons"][0]


def _labs(**values):
    base = {"platelets": ("210", "10^9/L", {}), "hemoglobin": ("125", "g/L", {}),
            "neutrophils": ("3.2", "10^9/L", {}), "creatinine": ("0.9", "mg/dL", {}),
            "bilirubin": ("0.6", "mg/dL", {"uln": "1.2"}), "albumin": ("41", "g/L", {})}
    base.update(values)
    return {k: lab_value(k, v, u, **lim) for k, (v, u, lim) in base.items()}


def test_the_parsers_see_every_kind_of_sentence():
    """The property above only means something if its patterns match real sentences."""
    patient = Patient("M", 68, 50)
    baseline = Baseline(lab_value("creatinine", "0.95", "mg/dL"), 50, 68)
    cases = [
        (_labs(platelets=("74999", "/uL", {}), lymphocytes=("0.199", "10^9/L", {}),
               white_cells=("1.5", "10^9/L", {}), ast=("200.01", "U/L", {"uln": "40"}),
               bilirubin=("3.6006", "mg/dL", {"uln": "1.2"}),
               albumin=("29.999", "g/L", {}), creatinine=("1.33", "mg/dL", {})), F("69.999")),
        (_labs(neutrophils=("1.0001", "10^9/L", {}), hemoglobin=("99.99", "g/L", {}),
               creatinine=("110.6", "umol/L", {}), albumin=("29", "g/L", {})), F(70)),
    ]
    counted = 0
    for labs, ratio in cases:
        inp = DoseInput(course=Course(doses=(Dose(1, C1, F("7.4")),)), patient=patient,
                        baseline=baseline, labs=Labs(prothrombin_ratio_percent=ratio, **labs))
        rendered = render_dose_decision(dose_decision(inp, dt.date(2025, 3, 3)),
                                        dt.date(2025, 3, 3))
        counted += sum(check_sentence(r) for r in rendered["reasons"])
        counted += sum(check_grade_reason(a, g["reason"]) for a, g in rendered["grades"].items())
    assert counted >= 20


def test_tumour_grade_indices_print_on_their_side_of_the_boundaries():
    from rules import tumour_grade

    reason = tumour_grade("well", "2.999", "1.9999").reasons[0]
    assert "Ki-67 2.999 % (G1)" in reason and "1.9999 mitoses per 2 mm² (G1)" in reason
    reason = tumour_grade("well", "20.001", "20").reasons[0]
    assert "Ki-67 20.001 % (G3)" in reason and "20 mitoses per 2 mm² (G2)" in reason
