"""The API's errors have two shapes and are JSON wherever the path is under /api/: an unknown
route, an id that is not a UUID, a method a route does not have, a body that is not JSON, a page
asked for beyond any bound, and OPTIONS on every route."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import get_resolver
from django.utils import timezone

from tests.apiclient import API, client_for, make_records
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.django_db

ERROR = {"detail", "field"}
INVALID = {"detail", "field", "errors"}


def assert_error(response, status: int, shape: set[str] = ERROR) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert set(body) == shape and isinstance(body["detail"], str) and body["detail"], body
    return body


@pytest.mark.parametrize("path", [
    "/api/v1/nothing-here/",
    "/api/v1/patients/not-a-uuid/",
    "/api/v1/patients/12/labs/",
    "/api/v2/patients/",
    "/api/",
    "/api/v1/patients/00000000-0000-0000-0000-000000000000/unknown/",
])
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_unknown_api_routes_are_a_json_404(navigator, path, method):
    body = assert_error(getattr(client_for(navigator), method)(path), 404)
    assert body == {"detail": "Not found.", "field": None}


def test_unknown_api_routes_are_a_json_404_signed_out_too(client):
    assert_error(client.get("/api/v1/nothing-here/"), 404)


def test_elsewhere_an_unknown_page_is_still_the_page(client, navigator):
    client.force_login(navigator)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Not found" in response.content


def test_a_method_a_route_does_not_have_is_a_json_405(navigator, patient):
    response = client_for(navigator).delete(f"{API}/patients/{patient.external_id}/")
    assert_error(response, 405)
    assert "GET" in response["Allow"]


def test_signed_out_is_a_json_403_naming_no_field(client, patient):
    body = assert_error(client.get(f"{API}/patients/"), 403)
    assert body["field"] is None


def test_a_body_that_is_not_json_is_the_one_400(oncologist, patient):
    response = client_for(oncologist).generic(
        "POST", f"{API}/patients/{patient.external_id}/labs/", "{not json",
        content_type="application/json")
    body = assert_error(response, 400, INVALID)
    assert body["field"] is None and list(body["errors"]) == ["non_field_errors"]


def test_a_body_in_a_media_type_not_read_is_a_json_415(oncologist, patient):
    response = client_for(oncologist).generic(
        "POST", f"{API}/patients/{patient.external_id}/labs/", "value",
        content_type="text/plain")
    assert_error(response, 415)


def test_a_refusal_and_a_serializer_error_have_one_shape(navigator, patient):
    """The referral workflow's refusal and a serializer's field error look alike."""
    client = client_for(navigator)
    lab = make_records(patient, navigator)["lab"]
    serializer = client.post(f"{API}/patients/{patient.external_id}/labs/{lab.external_id}/"
                             "mark-in-error/", {}, format="json")
    body = assert_error(serializer, 400, INVALID)
    assert body["field"] == "reason" and body["errors"]["reason"] == [body["detail"]]


# --- pagination at its extremes ---------------------------------------------------------------


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=-1", "limit"), ("limit=1001", "limit"),
    ("limit=abc", "limit"), ("limit=1e3", "limit"), (f"limit={10**40}", "limit"),
    ("limit=%C2%B2", "limit"), ("offset=-1", "offset"), ("offset=abc", "offset"),
    ("offset=1.5", "offset"), ("offset=%C2%B2", "offset"),
])
@pytest.mark.parametrize("route", ["patients", "referrals", "courses", "cycles", "care-tasks",
                                   "ssa-injections"])
def test_a_page_out_of_bounds_is_a_400_naming_the_parameter(navigator, route, query, field):
    body = assert_error(client_for(navigator).get(f"{API}/{route}/?{query}"), 400, INVALID)
    assert body["field"] == field and list(body["errors"]) == [field]


@pytest.mark.parametrize("query", ["limit=1000", "offset=0", f"offset={2**63 - 1}",
                                   f"offset={2**63}", f"offset={10**40}&limit=1000",
                                   "offset=99999999999&limit=1000", "limit=1&offset=1"])
def test_the_last_page_and_beyond_are_empty_pages(navigator, patient, query):
    response = client_for(navigator).get(f"{API}/patients/?{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    if "offset=0" in query or query == "limit=1000":
        assert [row["id"] for row in body["results"]] == [str(patient.external_id)]
    else:
        assert body["results"] == [] and body["next"] is None


# --- OPTIONS on every route -------------------------------------------------------------------

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def api_route_templates() -> list[str]:
    """Every /api/v1/ route as a path with `{name}` for each parameter."""
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    return sorted({f"{API}/" + PARAMETER.sub(r"{\1}", str(p.pattern).lstrip("^").rstrip("$"))
                   for p in api.url_patterns})


def real_paths(client, template: str) -> list[str]:
    """`template` with real ids: each `{name}` taken from the list the path holds up to it."""
    paths = [""]
    rest = template
    while (match := re.search(r"\{(\w+)\}", rest)):
        prefix, rest = rest[:match.start()], rest[match.end():]
        expanded = []
        for done in paths:
            listed = client.get(done + prefix)
            rows = listed.json().get("results", []) if listed.status_code == 200 else []
            expanded += [f"{done}{prefix}{row['id']}" for row in rows[:2] if "id" in row]
        paths = expanded
    return [done + rest for done in paths]


@pytest.fixture
def records(centre, oncologist, specialist, navigator, patient):
    """One of every kind of record, so that every route has an id to ask about."""
    make_records(patient, navigator)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=timezone.localdate() + dt.timedelta(days=20))
    return course


@pytest.mark.parametrize("role", ["navigator", "specialist", "oncologist"])
def test_options_on_every_route_describes_it(request, records, role):
    client = client_for(request.getfixturevalue(role))
    templates = api_route_templates()
    assert len(templates) >= 20
    asked = 0
    for template in templates:
        for path in real_paths(client, template) or [template.replace("{", "").replace("}", "")]:
            response = client.options(path)
            asked += 1
            assert response.status_code in (200, 404), (path, response.status_code,
                                                        response.content[:300])
            assert response["Content-Type"] == "application/json", path
            if response.status_code == 200:
                assert "GET" in response["Allow"] or "POST" in response["Allow"], path
                assert response.json()["name"], path
    assert asked >= len(templates)
