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
    """Every /api/v1/ route, written the way OpenAPI writes paths (`{name}`)."""
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    return {f"{API}/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern))
            for p in api.url_patterns}


def test_spectacular_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")


def test_every_route_is_documented(schema):
    documented = {path for path in schema["paths"] if path.startswith(f"{API}/")}
    assert documented == api_routes()


def test_every_step_is_a_documented_post_action(schema):
    for name in STEPS:
        operation = schema["paths"][f"{API}/referrals/{{id}}/{name}/"]["post"]
        assert set(operation["responses"]) == {"200", "400", "403", "404", "409"}
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Transition"}


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
