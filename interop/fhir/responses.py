"""FHIR answers: a fhir.resources model as ``application/fhir+json``."""

from __future__ import annotations

from django.http import HttpResponse

FHIR_JSON = "application/fhir+json"


def fhir_response(resource, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(resource.model_dump_json(), status=status,
                            content_type=f"{FHIR_JSON}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response
