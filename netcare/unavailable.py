"""A clear 503 instead of a 500 when a service NETcare depends on does not answer.

Django calls ``handler500`` (netcare/urls.py) inside the handling of an uncaught exception, so
the exception is still in hand: when it says the database or Redis (the cache, the Celery
broker) could not be reached, the answer is 503 Service Unavailable with ``Retry-After`` and a
page saying so (JSON under /api/, an OperationOutcome under /fhir/), built without the database
or the session; any other error stays Django's 500. The request's transaction has rolled back
either way.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

RETRY_AFTER_SECONDS = 30

_UNAVAILABLE = (
    ((OperationalError, InterfaceError), "The database"),
    ((RedisConnectionError, RedisTimeoutError, BrokerError),
     "Redis (the cache and the message broker)"),
)


def unavailable_service(exc: BaseException | None) -> str | None:
    """Which service `exc` (or an exception it was raised from) says did not answer, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for types, service in _UNAVAILABLE:
            if isinstance(exc, types):
                return service
        exc = exc.__cause__ or exc.__context__
    return None


def server_error(request: HttpRequest) -> HttpResponse:
    service = unavailable_service(sys.exc_info()[1])
    if service is None:
        return defaults.server_error(request)
    message = f"{service} did not answer. Please try again in a minute."
    if request.path.startswith("/fhir/"):
        response: HttpResponse = JsonResponse(
            {"resourceType": "OperationOutcome",
             "issue": [{"severity": "error", "code": "transient", "diagnostics": message}]},
            status=503, content_type="application/fhir+json")
    elif request.path.startswith("/api/"):  # the API's `Error` shape (netcare.api.error_body)
        response = JsonResponse({"detail": message, "field": None}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"service": service}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
