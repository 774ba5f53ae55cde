"""The PRRT part of the OpenAPI schema: every action documents its refusals, states are named
enums, and the rules' output is described rather than left as an untyped object."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from tests.apiclient import API


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", [
    "courses/{id}/approve/", "courses/{id}/reject/", "courses/{id}/discontinue/",
    "cycles/{id}/approve/", "cycles/{id}/withhold/", "cycles/{id}/discontinue/",
    "cycles/{id}/administer/", "cycles/{id}/reschedule/",
])
def test_every_action_documents_its_answers(schema, path):
    operation = schema["paths"][f"{API}/{path}"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "409", "415"}
    assert "requestBody" in operation


def test_reads_and_lists_are_documented(schema):
    paths = schema["paths"]
    for path in ("courses/", "courses/{id}/", "courses/{id}/eligibility/", "cycles/",
                 "cycles/{id}/", "cycles/{id}/recommendation/", "cycles/{cycle_id}/decisions/"):
        assert "get" in paths[f"{API}/{path}"], path
    assert set(paths[f"{API}/courses/"]["post"]["responses"]) == {
        "201", "400", "401", "403", "409", "415"}


def test_states_are_named_enums(schema):
    components = schema["components"]["schemas"]
    assert components["Course"]["properties"]["state"] == {
        "allOf": [{"$ref": "#/components/schemas/CourseStateEnum"}], "readOnly": True}
    assert "ready" in components["CycleStateEnum"]["enum"]
    assert components["CycleApprove"]["required"] == ["activity_gbq"]


def test_the_rules_output_is_described(schema):
    components = schema["components"]["schemas"]
    recommendation = components["DoseRecommendation"]["properties"]
    # The action is null while the decision panel is incomplete (§4.5): no recommendation.
    assert recommendation["action"]["allOf"] == [{"$ref": "#/components/schemas/DoseActionEnum"}]
    assert recommendation["action"]["nullable"] is True
    assert {"triggers", "grades", "delay_days", "course_after", "complete", "missing_inputs",
            "needs_review", "warnings"} <= set(recommendation)
    assert components["CycleDecision"]["properties"]["labs_snapshot"]["additionalProperties"] == {
        "$ref": "#/components/schemas/LabSnapshot"}
