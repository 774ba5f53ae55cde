"""The §5 scenario contract: parsing, output shape, and errors that name the exact field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rules import RulesInputError, assess, assess_json

SCENARIOS = Path(__file__).parent / "scenarios"


def base(name="v03.json"):
    return copy.deepcopy(json.loads((SCENARIOS / name).read_text())["scenario"])


def mutated(change, name="v03.json"):
    scenario = base(name)
    change(scenario)
    return scenario


def setter(path, value):
    def change(scenario):
        *parents, last = path
        node = scenario
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return change


DELETE = object()
DOSE_ERRORS = [
    (("labs", "platelets", "unit"), "G/L", "labs.platelets.unit"),
    (("labs", "platelets", "value"), -1, "labs.platelets.value"),
    (("labs", "platelets", "value"), 6000, "labs.platelets.value"),
    (("labs", "platelets", "value"), "210", "labs.platelets.value"),
    (("labs", "platelets", "value"), True, "labs.platelets.value"),
    (("labs", "platelets"), 210, "labs.platelets"),
    (("labs", "hemoglobin", "unit"), "mmol", "labs.hemoglobin.unit"),
    (("labs", "potassium"), {"value": 4, "unit": "mmol/L"}, "labs.potassium"),
    (("labs", "bilirubin", "uln"), 0, "labs.bilirubin.uln"),
    (("labs", "inr"), -1, "labs.inr"),
    (("labs", "platelets", "colour"), "red", "labs.platelets.colour"),
    (("labs", "creatinine", "unit"), DELETE, "labs.creatinine.unit"),
    (("assessment_date",), "2025-02-30", "assessment_date"),
    (("assessment_date",), "03/03/2025", "assessment_date"),
    (("assessment_date",), DELETE, "assessment_date"),
    (("patient", "sex"), "X", "patient.sex"),
    (("patient", "age_years"), 200, "patient.age_years"),
    (("patient", "weight_kg"), DELETE, "patient.weight_kg"),
    (("baseline", "creatinine", "value"), 0, "baseline.creatinine.value"),
    (("course", "doses", 0, "date"), "2025-13-01", "course.doses[0].date"),
    (("course", "doses", 0, "activity_gbq"), 74, "course.doses[0].activity_gbq"),
    (("course", "withheld_categories"), ["bleeding"], "course.withheld_categories[0]"),
    (("course", "occurred_categories"), "renal", "course.occurred_categories"),
    (("adverse_events",), [{"grade": 3}], "adverse_events[0]"),
    (("adverse_events",), [{"category": "other", "grade": 7}], "adverse_events[0].grade"),
    (("adverse_events",), [{"category": "other", "grade": 2.5}], "adverse_events[0].grade"),
    (("adverse_events",), [{"term": "x", "grade": 3, "related": "yes"}],
     "adverse_events[0].related"),
    (("kind",), "dose", "kind"),
    (("surprise",), 1, "surprise"),
]


@pytest.mark.parametrize(("path", "value", "field"), DOSE_ERRORS,
                         ids=[f for _, _, f in DOSE_ERRORS])
def test_dose_scenario_errors_name_the_field(path, value, field):
    with pytest.raises(RulesInputError) as error:
        assess(mutated(setter(path, value)))
    assert error.value.field == field
    assert error.value.message


def test_doses_out_of_order():
    def change(scenario):
        scenario["course"]["doses"] = [
            {"cycle": 1, "date": "2025-03-03", "activity_gbq": 7.4},
            {"cycle": 2, "date": "2025-01-06", "activity_gbq": 7.4},
        ]
    with pytest.raises(RulesInputError) as error:
        assess(mutated(change))
    assert error.value.field == "course.doses[1].date"
    assert "out of order" in error.value.message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"kind": "grade", "differentiation": "well", "ki67_percent": NaN}', "ki67_percent"),
        ('{"kind": "grade", "differentiation": "well", "ki67_percent": Infinity}',
         "ki67_percent"),
        ('{"kind": "grade", "differentiation": "well", "ki67_percent": 150}', "ki67_percent"),
        ('{"kind": "grade", "differentiation": "good"}', "differentiation"),
        ('{"kind": "grade"', "$"),
        ("[1, 2]", "$"),
        ('{"kind": "schedule", "first_dose_date": "2025-01-06", "doses": '
         '[{"cycle": 1, "date": "2025-01-07", "activity_gbq": 7.4}]}', "doses[0].date"),
        ('{"kind": "schedule", "first_dose_date": "tomorrow"}', "first_dose_date"),
        ('{"kind": "schedule", "first_dose_date": "2025-01-06", "course_ended": "no"}',
         "course_ended"),
        ('{"kind": "unknown"}', "kind"),
        ("{}", "kind"),
    ],
)
def test_json_text_errors(text, field):
    with pytest.raises(RulesInputError) as error:
        assess_json(text)
    assert error.value.field == field
    assert error.value.as_dict() == {"error": {"field": field, "message": error.value.message}}


def test_dose_output_shape():
    result = assess(base())
    assert set(result) >= {"action", "activity_gbq", "triggers", "grades", "crcl_ml_min",
                           "delay_days", "reasons"}
    assert result["triggers"][0] == {
        "category": "renal", "criterion": "crcl_below_40", "value": 39.68, "threshold": 40,
        "unit": "mL/min", "comparison": "<", "reason": result["triggers"][0]["reason"],
    }
    assert result["grades"]["platelets"]["grade"] == 0
    json.dumps(result)  # JSON-ready


def test_numbers_are_exact_where_floats_would_flip_the_decision():
    # M, 44 y, 39 kg, creatinine 1.3 mg/dL: CrCl = 96 × 39 / 93.6 = 40 exactly, but
    # 39.99999999999999 in binary floating point, which would be "below 40".
    assert (140 - 44) * 39 / (72 * 1.3) < 40
    scenario = base()
    scenario["patient"] = {"sex": "M", "age_years": 44, "weight_kg": 39}
    scenario["baseline"] = {"creatinine": {"value": 1.3, "unit": "mg/dL"}, "weight_kg": 39,
                            "age_years": 44}
    scenario["labs"]["creatinine"] = {"value": 1.3, "unit": "mg/dL"}
    for result in (assess(scenario), assess_json(json.dumps(scenario))):
        assert (result["action"], result["crcl_ml_min"], result["triggers"]) == (
            "PROCEED", 40.0, [])


def test_grade_and_schedule_kinds():
    grade = assess({"kind": "grade", "differentiation": "well", "ki67_percent": 2.5,
                    "mitoses_per_2mm2": 1})
    assert (grade["grade"], grade["decided_by"]) == ("G1", "ki67_and_mitoses")
    schedule = assess({"kind": "schedule", "first_dose_date": "2025-01-06"})
    kinds = {e["kind"] for e in schedule["events"]}
    assert kinds == {"ssa_washout", "pre_dose_labs", "infusion", "lar_injection",
                     "radiation_precautions", "no_routine_bloods", "imaging",
                     "post_course_labs", "sstr_pet", "lar_maintenance"}
    assert all(e["earliest"] <= e["due"] <= e["latest"] for e in schedule["events"])


def test_absent_labs_are_said_in_reasons():
    scenario = base()
    del scenario["labs"]
    result = assess(scenario)
    assert result["action"] == "PROCEED"
    assert result["crcl_ml_min"] is None
    assert any("No creatinine result" in r for r in result["reasons"])
