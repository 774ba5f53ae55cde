"""`manage.py assess`: every worked example V1–V19 through the command, plus exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).parent / "scenarios"
FIXTURES = sorted(SCENARIOS.glob("v*.json"))


def _cases():
    for path in FIXTURES:
        document = json.loads(path.read_text())
        yield pytest.param(path, None, document["expect"], id=path.stem)
        for index, variant in enumerate(document.get("variants", [])):
            yield pytest.param(path, index, variant["expect"], id=f"{path.stem}-variant{index}")


def test_there_is_one_fixture_per_worked_example():
    examples = [json.loads(p.read_text())["example"] for p in FIXTURES]
    assert examples == [f"V{n}" for n in range(1, 20)]


def run_command(*args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    extra = {} if stdin is None else {"stdin": io.StringIO(stdin)}
    try:
        call_command("assess", *args, stdout=out, **extra)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue())


def check(result: dict[str, Any], expect: dict[str, Any]) -> None:
    for key, want in expect.items():
        if key == "trigger_categories":
            got: Any = sorted({t["category"] for t in result["triggers"]})
        elif key == "trigger_criteria":
            got = sorted(t["criterion"] for t in result["triggers"])
        elif key == "trigger_values":
            got = {t["criterion"]: t["value"] for t in result["triggers"] if t["criterion"] in want}
        elif key == "grades":
            got = {name: result["grades"][name]["grade"] for name in want}
        elif key == "events_include":
            for event in want:
                matches = [e for e in result["events"]
                           if all(e.get(k) == v for k, v in event.items())]
                assert matches, f"no event matching {event}"
            continue
        elif key == "event_counts":
            got = {kind: sum(e["kind"] == kind for e in result["events"]) for kind in want}
        elif key == "lar_maintenance_until":
            lar = [e for e in result["events"] if e["kind"] == "lar_maintenance"]
            assert all(e["latest"] <= want for e in lar)
            assert all(want in e["note"] for e in lar)
            continue
        else:
            got = result[key]
        assert got == want, f"{key}: expected {want!r}, got {got!r}"


@pytest.mark.parametrize(("path", "variant", "expect"), list(_cases()))
def test_worked_example_through_the_command(path, variant, expect, tmp_path):
    document = json.loads(path.read_text())
    scenario = document["scenario"] if variant is None else document["variants"][variant][
        "scenario"]
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(json.dumps(scenario))
    code, result = run_command(str(scenario_file))
    assert code == 0
    check(result, expect)
    assert result["reasons"] if scenario["kind"] != "schedule" else result["events"]


def test_stdin_is_read_with_a_dash():
    scenario = json.loads((SCENARIOS / "v08.json").read_text())["scenario"]
    code, result = run_command("-", stdin=json.dumps(scenario))
    assert (code, result["action"]) == (0, "WITHHOLD")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"kind": "grade", "differentiation": "well", "ki67_percent": -3}', "ki67_percent"),
        ("not json", "$"),
        ('{"kind": "surprise"}', "kind"),
    ],
)
def test_invalid_input_exits_2_with_the_field(text, field):
    code, result = run_command("-", stdin=text)
    assert code == 2
    assert result["error"]["field"] == field
    assert result["error"]["message"]


def test_a_missing_file_is_an_input_error(tmp_path):
    code, result = run_command(str(tmp_path / "absent.json"))
    assert (code, result["error"]["field"]) == (2, "file")


# --- a real process ------------------------------------------------------------------------


def manage(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "netcare.settings")
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = "netcare-rules-test-only-secret-key-0123456789abcdefghijklmnopq"
    return subprocess.run(
        [sys.executable, "manage.py", "assess", *args], cwd=ROOT, env=env, input=stdin,
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize("name", ["v06.json", "v12.json", "v19.json"])
def test_process_exit_0_with_json_on_stdout(name, tmp_path):
    document = json.loads((SCENARIOS / name).read_text())
    path = tmp_path / name
    path.write_text(json.dumps(document["scenario"]))
    proc = manage(str(path))
    assert proc.returncode == 0, proc.stderr
    check(json.loads(proc.stdout), document["expect"])


def test_process_refuses_a_fixture_document_that_is_not_a_scenario():
    proc = manage(str(SCENARIOS / "v06.json"))
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"] == {
        "field": "kind", "message": "is required; accepted: dose_decision, grade, schedule"}


def test_process_exit_2_names_the_field(tmp_path):
    scenario = json.loads((SCENARIOS / "v07.json").read_text())["scenario"]
    scenario["labs"]["platelets"]["unit"] = "G/L"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(scenario))
    proc = manage(str(path))
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["field"] == "labs.platelets.unit"


def test_process_refuses_nan_and_bad_dates():
    proc = manage("-", stdin='{"kind": "schedule", "first_dose_date": "2025-02-30"}')
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["field"] == "first_dose_date"
    proc = manage("-", stdin='{"kind": "grade", "differentiation": "well", "ki67_percent": NaN}')
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["field"] == "ki67_percent"


def test_centre_settings_reach_the_command(settings):
    scenario = json.loads((SCENARIOS / "v14.json").read_text())["scenario"]
    assert run_command("-", stdin=json.dumps(scenario))[1]["action"] == "WITHHOLD"
    settings.NETCARE_RULES = {"ctcae_version": "6.0"}
    code, result = run_command("-", stdin=json.dumps(scenario))
    assert (code, result["action"], result["grades"]["neutrophils"]["ctcae_version"]) == (
        0, "PROCEED", "6.0")
