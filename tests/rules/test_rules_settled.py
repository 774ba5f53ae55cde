"""Every settled reading of §4.4 (and §4.5's failing safe) as a scenario through `manage.py
assess`: the fixtures are tests/rules/scenarios/settled*.json, in the worked examples' format
(``scenario``, ``expect`` and ``variants``) with a ``reading`` quoting the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.rules.test_rules_assess_command import check, run_command

SCENARIOS = Path(__file__).parent / "scenarios"
FIXTURES = sorted(SCENARIOS.glob("settled*.json"))

# Expectations beyond the worked examples' (the rest are checked by test_rules_assess_command).
EXTRA = ("reasons_include", "reasons_exclude", "first_reason", "needs_review_codes",
         "warning_codes", "grade_reasons_include")


def _cases():
    for path in FIXTURES:
        document = json.loads(path.read_text())
        yield pytest.param(document["scenario"], document["expect"], id=path.stem)
        for index, variant in enumerate(document.get("variants", [])):
            yield pytest.param(variant["scenario"], variant["expect"],
                               id=f"{path.stem}-variant{index}")


def check_extra(result: dict[str, Any], expect: dict[str, Any]) -> None:
    reasons = "\n".join(result.get("reasons", []))
    for text in expect.get("reasons_include", []):
        assert text in reasons, f"{text!r} not in reasons:\n{reasons}"
    for text in expect.get("reasons_exclude", []):
        assert text not in reasons, f"{text!r} in reasons:\n{reasons}"
    if "first_reason" in expect:
        assert result["reasons"][0] == expect["first_reason"]
    if "needs_review_codes" in expect:
        assert [r["code"] for r in result["needs_review"]] == expect["needs_review_codes"]
        assert all(r["reason"] for r in result["needs_review"])
    if "warning_codes" in expect:
        assert [w["code"] for w in result["warnings"]] == expect["warning_codes"]
    for analyte, text in expect.get("grade_reasons_include", {}).items():
        assert text in result["grades"][analyte]["reason"], result["grades"][analyte]["reason"]


def test_every_settled_reading_has_a_fixture():
    readings = [json.loads(p.read_text())["reading"] for p in FIXTURES]
    assert len(readings) == 10
    for needle in ("related", "treatment-related", "Blood-count", "Baseline creatinine",
                   "INR", "49 days", "Calendar months", "16 weeks", "complete: false",
                   "printed comparison"):
        assert any(needle in r for r in readings), needle


@pytest.mark.parametrize(("scenario", "expect"), list(_cases()))
def test_settled_reading_through_the_command(scenario, expect, tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    code, result = run_command(str(path))
    assert code == 0, result
    check(result, {k: v for k, v in expect.items() if k not in EXTRA})
    check_extra(result, expect)
    if scenario["kind"] == "dose_decision":
        assert set(result) >= {"complete", "missing_inputs", "needs_review", "warnings"}
        assert result["complete"] is (not result["missing_inputs"])
