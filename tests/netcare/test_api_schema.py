"""The OpenAPI schema: generated without a warning, valid, and documenting every API route."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from django.urls import get_resolver

from referrals.services import STEPS
from tests.apiclient import API, client_for


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def api_routes() -> set[str]:
    """Every /api/v1/ route (whichever app includes it), written the way OpenAPI writes paths
    (`{name}`)."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route

    return {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            for route in walk(get_resolver().url_patterns, "")
            if route.startswith(f"{API.lstrip('/')}/")}


def test_spectacular_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")


def test_every_route_is_documented(schema):
    documented = {path for path in schema["paths"] if path.startswith(f"{API}/")}
    assert documented == api_routes()


def test_every_step_is_a_documented_post_action(schema):
    for name in STEPS:
        operation = schema["paths"][f"{API}/referrals/{{id}}/{name}/"]["post"]
        assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "409", "415"}
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Transition"}


ERROR = {"$ref": "#/components/schemas/Error"}
INVALID_INPUT = {"$ref": "#/components/schemas/InvalidInput"}


def operations(schema):
    """The JSON operations of /api/v1/ (the HL7 v2 endpoint answers in HL7, its ACK)."""
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            success = next(r for code, r in operation["responses"].items() if code < "300")
            if path.startswith(f"{API}/") and "application/json" in success.get("content", {
                    "application/json": None}):
                yield f"{method.upper()} {path}", operation


def error_schema(response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


def test_every_400_is_the_one_invalid_input_shape(schema):
    """Every operation that takes a body or a query documents its 400 as `InvalidInput`, which
    names the field; no other 400 shape exists."""
    assert len(list(operations(schema))) >= 60
    for label, operation in operations(schema):
        takes_input = "requestBody" in operation or any(
            parameter["in"] == "query" for parameter in operation.get("parameters", []))
        if takes_input:
            assert "400" in operation["responses"], label
        if "400" in operation["responses"]:
            assert error_schema(operation["responses"]["400"]) == INVALID_INPUT, label
    invalid = schema["components"]["schemas"]["InvalidInput"]
    assert set(invalid["required"]) == {"detail", "field", "errors"}
    assert invalid["properties"]["field"]["nullable"] is True
    assert invalid["properties"]["errors"]["additionalProperties"] == {
        "type": "array", "items": {"type": "string"}}


def test_every_other_error_is_the_error_shape(schema):
    """401 and 403 wherever a request can be made, 404 wherever the path names an object; every
    4xx other than a 400 is documented as `Error`."""
    for label, operation in operations(schema):
        responses = operation["responses"]
        assert {"401", "403"} <= set(responses), label
        if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
            assert "404" in responses, label
        for code, response in responses.items():
            if code.startswith("4") and code != "400":
                assert error_schema(response) == ERROR, (label, code)


def test_pagination_documents_its_bounds(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"][f"{API}/patients/"]["get"][
        "parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert parameters["offset"]["minimum"] == 0
    page = schema["components"]["schemas"]["PaginatedPatientList"]
    assert page["properties"]["next"]["nullable"] is True
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/Patient"}


def test_nullable_references_are_marked_nullable(schema):
    components = schema["components"]["schemas"]
    assert components["Referral"]["properties"]["reviewer"]["nullable"] is True
    assert components["ReferralEvent"]["properties"]["actor"]["nullable"] is True


def test_path_ids_are_uuids(schema):
    for path, item in schema["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"] == {"type": "string", "format": "uuid"}, path


def test_no_integer_ids_in_components(schema):
    for name, component in schema["components"]["schemas"].items():
        for field, prop in component.get("properties", {}).items():
            if field == "id":
                assert prop.get("format") == "uuid", name


def test_tumour_grade_is_read_only(schema):
    tumour = schema["components"]["schemas"]["TumourProfile"]["properties"]
    assert tumour["grade"].get("readOnly") is True


@pytest.mark.django_db
def test_schema_endpoint_serves_it(specialist):
    response = client_for(specialist).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/referrals/{id}/accept/" in response.content
