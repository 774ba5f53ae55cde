"""The dose decision (§4.3 triggers, §4.4 order) on the worked examples and at every boundary."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from rules import (
    DEFAULT_CONFIG,
    SPECS,
    AdverseEvent,
    Analyte,
    Category,
    RulesConfig,
    RulesInputError,
    SixteenWeekMode,
    dose_decision,
)
from tests.rules.rules_builders import C2_DUE, dose_input, doses, labs

F = Fraction
DAY = dt.timedelta(days=1)


def decide(when=C2_DUE, config=DEFAULT_CONFIG, **kwargs):
    return dose_decision(dose_input(**kwargs), when, config)


def with_lab(analyte, canonical, unit, **limits):
    factor = SPECS[Analyte(analyte)].factors[unit]
    scaled = {k: v / factor for k, v in limits.items()}
    return labs(**{analyte: (canonical / factor, unit, scaled)})


def _units(analyte):
    return list(SPECS[Analyte(analyte)].factors)


HAEM = [
    ("platelets", F(75), "thrombocytopenia"),
    ("hemoglobin", F(80), "anaemia"),
    ("neutrophils", F(1), "neutropenia"),
]


@pytest.mark.parametrize(
    ("analyte", "canonical", "unit", "action"),
    [
        pytest.param(a, bound + delta, unit, action, id=f"{a}-{bound + delta}-{unit}")
        for a, bound, _ in HAEM
        for unit in _units(a)
        for delta, action in ((-F(1, 100), "WITHHOLD"), (F(0), "PROCEED"), (F(1, 100), "PROCEED"))
    ],
)
def test_haematological_triggers_at_their_bounds_in_every_unit(analyte, canonical, unit, action):
    decision = decide(lab_values=with_lab(analyte, canonical, unit))
    assert decision.action == action
    category = dict((a, c) for a, _, c in HAEM)[analyte]
    assert (category in decision.trigger_categories) is (action == "WITHHOLD")


@pytest.mark.parametrize(
    ("unit", "multiple", "triggered"),
    [(u, m, t) for u in _units("bilirubin")
     for m, t in ((F(3), False), (F(3) + F(1, 1000), True), (F(3) - F(1, 1000), False))],
)
def test_bilirubin_above_three_times_uln_is_strict(unit, multiple, triggered):
    uln = F("1.2") * F("17.1")  # 20.52 µmol/L
    decision = decide(lab_values=with_lab("bilirubin", multiple * uln, unit, uln=uln))
    assert (decision.action == "WITHHOLD") is triggered
    assert ("hepatic" in decision.trigger_categories) is triggered


def test_v15_exactly_three_times_uln_and_normal_prothrombin_ratio():
    decision = decide(lab_values=labs(bilirubin=("3.6", "mg/dL", {"uln": "1.2"}),
                                      albumin=("28", "g/L"), prothrombin_ratio_percent=75))
    assert decision.action == "PROCEED"
    assert decision.activity_gbq == F("7.4")
    assert decision.triggers == ()


def test_v16_above_three_times_uln():
    decision = decide(lab_values=labs(bilirubin=("3.7", "mg/dL", {"uln": "1.2"})))
    assert decision.action == "WITHHOLD"
    assert decision.triggers[0].criterion == "bilirubin_above_3x_uln"
    assert "3.08 × the ULN" in decision.triggers[0].reason


@pytest.mark.parametrize(
    ("albumin", "unit", "ratio", "triggered"),
    [("29.9", "g/L", 69, True), ("2.99", "g/dL", 69, True), ("30", "g/L", 69, False),
     ("3.0", "g/dL", 50, False), ("29.9", "g/L", 70, False), ("29.9", "g/L", "69.9", True),
     ("20", "g/L", "70.1", False)],
)
def test_albumin_with_prothrombin_ratio(albumin, unit, ratio, triggered):
    decision = decide(lab_values=labs(albumin=(albumin, unit), prothrombin_ratio_percent=ratio))
    assert (Category.HEPATIC in decision.trigger_categories) is triggered


def test_inr_without_prothrombin_ratio_asks_for_manual_review():
    decision = decide(lab_values=labs(albumin=("28", "g/L"), prothrombin_ratio_percent=None,
                                      inr="1.6"))
    assert decision.action == "PROCEED"
    review = [f for f in decision.findings if f.severity == "review"]
    assert [f.code for f in review] == ["DOSE.HEPATIC.INR_WITHOUT_PROTHROMBIN_RATIO"]
    assert any("cannot be evaluated" in r for r in decision.reasons)


def test_low_albumin_without_any_clotting_value_asks_for_manual_review():
    decision = decide(lab_values=labs(albumin=("28", "g/L"), prothrombin_ratio_percent=None))
    assert "DOSE.HEPATIC.NO_PROTHROMBIN_RATIO" in [f.code for f in decision.findings]


@pytest.mark.parametrize(("ast", "triggered"), [("200", False), ("200.1", True), ("199", False)])
def test_transaminases_above_five_times_uln_are_other_toxicity(ast, triggered):
    decision = decide(lab_values=labs(ast=(ast, "U/L", {"uln": "40"})))
    assert (Category.OTHER in decision.trigger_categories) is triggered


def test_v17_isolated_lymphopenia_needs_no_change():
    decision = decide(lab_values=labs(lymphocytes=("0.15", "10^9/L"),
                                      neutrophils=("2.1", "10^9/L"),
                                      platelets=("160", "10^9/L"), hemoglobin=("118", "g/L")))
    assert decision.action == "PROCEED"
    assert {g.analyte: g.grade for g in decision.grades}[Analyte.LYMPHOCYTES] == 4
    assert any("isolated lymphopenia" in r for r in decision.reasons)


@pytest.mark.parametrize(
    ("event", "category"),
    [
        (AdverseEvent(3, Category.HYPERSENSITIVITY), Category.HYPERSENSITIVITY),
        (AdverseEvent(3, term="anaphylaxis", related=True), Category.HYPERSENSITIVITY),
        (AdverseEvent(3, term="nausea", related=True), Category.OTHER),
        (AdverseEvent(3, term="fatigue"), Category.OTHER),
        (AdverseEvent(2, Category.THROMBOCYTOPENIA), Category.THROMBOCYTOPENIA),
        (AdverseEvent(2, term="nausea", related=True), None),
        (AdverseEvent(4, term="nausea", related=False), None),
        (AdverseEvent(4, term="lymphopenia", related=True), None),
        (AdverseEvent(2, Category.HYPERSENSITIVITY), None),
    ],
)
def test_adverse_events(event, category):
    decision = decide(events=(event,))
    assert decision.trigger_categories == (() if category is None else (category,))


def test_v18_hypersensitivity_discontinues_before_anything_else():
    decision = decide(given=doses("7.4", "7.4"), occurred=("thrombocytopenia",),
                      lab_values=labs(platelets=("60", "10^9/L")),
                      events=(AdverseEvent(3, Category.HYPERSENSITIVITY),))
    assert decision.action == "DISCONTINUE"
    assert decision.code == "DOSE.STEP1.HYPERSENSITIVITY"


def test_v8_v9_withhold_then_resume_reduced_21_days_late():
    v8 = decide(lab_values=labs(platelets=("74", "10^9/L")))
    assert (v8.action, v8.activity_gbq) == ("WITHHOLD", None)
    assert v8.withheld_categories == {Category.THROMBOCYTOPENIA}
    v9 = decide(dt.date(2025, 3, 24), lab_values=labs(platelets=("98", "10^9/L")),
                withheld=("thrombocytopenia",))
    assert (v9.action, v9.activity_gbq, v9.delay_days) == ("RESUME_REDUCED", F("3.7"), 21)
    assert v9.withheld_categories == frozenset()
    assert v9.occurred_categories == {Category.THROMBOCYTOPENIA}
    assert any("never reduced" in r for r in v9.reasons)


REDUCED_C2 = (doses("7.4")[0], doses("7.4", "3.7", start=dt.date(2025, 1, 6), gap_days=77)[1])
C3_DUE = dt.date(2025, 3, 24) + 56 * DAY


def test_v10_reescalate_after_the_reduced_dose():
    decision = decide(C3_DUE, given=REDUCED_C2, occurred=("thrombocytopenia",),
                      lab_values=labs(platelets=("88", "10^9/L")))
    assert (decision.action, decision.activity_gbq, decision.cycle) == ("REESCALATE", F("7.4"), 3)


def test_v11_recurrence_discontinues():
    decision = decide(C3_DUE, given=REDUCED_C2, occurred=("thrombocytopenia",),
                      lab_values=labs(platelets=("70", "10^9/L")))
    assert decision.action == "DISCONTINUE"
    assert decision.code == "DOSE.STEP2.RECURRENCE"


def test_recurrence_after_reescalation_still_discontinues():
    given = (*REDUCED_C2, doses("7.4", "7.4", "7.4", start=dt.date(2025, 1, 6), gap_days=69)[2])
    decision = decide(given[-1].date + 56 * DAY, given=given, occurred=("thrombocytopenia",),
                      lab_values=labs(platelets=("74", "10^9/L")))
    assert decision.action == "DISCONTINUE"


def test_a_trigger_in_a_withheld_category_is_the_same_episode():
    decision = decide(C2_DUE + 14 * DAY, withheld=("thrombocytopenia",),
                      lab_values=labs(platelets=("70", "10^9/L")))
    assert decision.action == "WITHHOLD"


def test_a_new_category_during_a_withheld_episode_joins_it():
    decision = decide(C2_DUE + 14 * DAY, withheld=("thrombocytopenia",),
                      lab_values=labs(hemoglobin=("79", "g/L")))
    assert decision.action == "WITHHOLD"
    assert decision.withheld_categories == {Category.THROMBOCYTOPENIA, Category.ANAEMIA}


def test_a_new_category_after_an_earlier_episode_is_not_a_recurrence():
    decision = decide(C3_DUE, given=REDUCED_C2, occurred=("thrombocytopenia",),
                      lab_values=labs(hemoglobin=("79", "g/L")))
    assert decision.action == "WITHHOLD"


@pytest.mark.parametrize(
    ("days_late", "platelets", "action"),
    [(112, "60", "DISCONTINUE"), (111, "60", "WITHHOLD"), (111, "98", "RESUME_REDUCED"),
     (113, "60", "DISCONTINUE")],
)
def test_v12_sixteen_weeks_from_the_due_date(days_late, platelets, action):
    decision = decide(C2_DUE + days_late * DAY, withheld=("thrombocytopenia",),
                      lab_values=labs(platelets=(platelets, "10^9/L")))
    assert decision.action == action
    assert decision.delay_days == days_late


@pytest.mark.parametrize(("days_late", "action"), [(111, "RESUME_REDUCED"),
                                                  (112, "DISCONTINUE"), (113, "DISCONTINUE"),
                                                  (120, "DISCONTINUE")])
def test_resolution_first_seen_16_weeks_or_more_after_the_due_date_discontinues(days_late,
                                                                                  action):
    # §4.4 step 3: a withheld category only now resolved, 112 days or more after the due date,
    # means the dose would come after a delay of 16 weeks or more.
    decision = decide(C2_DUE + days_late * DAY, withheld=("thrombocytopenia",),
                      lab_values=labs(platelets=("98", "10^9/L")))
    assert decision.action == action
    assert decision.triggers == ()


@pytest.mark.parametrize(
    ("days_after_dose", "platelets", "action"),
    [(111, "60", "WITHHOLD"), (112, "60", "DISCONTINUE"), (112, "98", "RESUME_REDUCED"),
     (113, "98", "DISCONTINUE")],
)
def test_sixteen_weeks_interval_mode(days_after_dose, platelets, action):
    config = RulesConfig(sixteen_week_mode=SixteenWeekMode.INTERVAL)
    decision = decide(dt.date(2025, 1, 6) + days_after_dose * DAY, config,
                      withheld=("thrombocytopenia",),
                      lab_values=labs(platelets=(platelets, "10^9/L")))
    assert decision.action == action


def test_no_further_dose_after_the_fourth():
    decision = decide(dt.date(2025, 8, 18), given=doses("7.4", "7.4", "7.4", "7.4"))
    assert (decision.action, decision.activity_gbq, decision.cycle) == (
        "NO_FURTHER_DOSE", None, None)


@pytest.mark.parametrize(("activity", "action"), [("3.7", "REESCALATE"), ("3.65", "REESCALATE"),
                                                  ("7.3", "PROCEED"), ("7.4", "PROCEED")])
def test_reescalation_needs_a_reduced_previous_dose(activity, action):
    decision = decide(given=doses("7.4", activity), when=dt.date(2025, 4, 28))
    assert decision.action == action


def test_before_the_first_dose_there_is_no_due_date():
    decision = decide(dt.date(2025, 1, 6), given=())
    assert (decision.action, decision.cycle, decision.due_date, decision.delay_days) == (
        "PROCEED", 1, None, None)


def test_labs_older_than_the_window_ask_for_a_repeat():
    decision = decide(labs_date=C2_DUE - 15 * DAY)
    assert "DOSE.LABS_TOO_OLD" in [f.code for f in decision.findings]
    assert "DOSE.LABS_TOO_OLD" not in [f.code for f in decide(labs_date=C2_DUE - 14 * DAY).findings]


@pytest.mark.parametrize(
    ("kwargs", "when", "field"),
    [
        ({}, dt.date(2025, 1, 5), "assessment_date"),
        ({"labs_date": C2_DUE + DAY}, C2_DUE, "labs_date"),
        ({"given": doses("7.4", "7.4", "7.4", "7.4", "7.4")}, dt.date(2026, 1, 1), "course.doses"),
        ({"events": (AdverseEvent(6, Category.OTHER),)}, C2_DUE, "adverse_events[0].grade"),
        ({"events": (AdverseEvent(3),)}, C2_DUE, "adverse_events[0]"),
    ],
)
def test_invalid_inputs_name_their_field(kwargs, when, field):
    with pytest.raises(RulesInputError) as error:
        decide(when, **kwargs)
    assert error.value.field == field


def test_a_category_cannot_be_both_withheld_and_occurred():
    with pytest.raises(RulesInputError) as error:
        dose_input(withheld=("renal",), occurred=("renal",))
    assert error.value.field == "course.withheld_categories"


def test_every_reason_names_its_numbers():
    decision = decide(lab_values=labs(platelets=("74", "10^9/L")))
    trigger = decision.triggers[0]
    assert (trigger.value, trigger.threshold, trigger.comparison) == (74, 75, "<")
    assert "74" in trigger.reason and "75" in trigger.reason
    assert decision.reasons[0].startswith("WITHHOLD")
