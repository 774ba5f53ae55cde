"""`Cache-Control: no-store` on every response NETcare renders, and an audit row for every request
NETcare refuses.

Pages, API answers, PDFs and the calendar feed carry patient data: no browser, proxy or shared
cache may keep a copy (a back button on a shared ward computer, a caching proxy in a hospital).
Static files never reach this middleware: WhiteNoise, above it in MIDDLEWARE, answers them with
their own long-lived caching; anything under STATIC_URL is left alone here too, whoever serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from netcare import audit

logger = logging.getLogger(__name__)


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.static_prefix):
            # no-store (and private, no-cache, must-revalidate, max-age=0), whatever a view set.
            add_never_cache_headers(response)
        return response


class AuditRefusalsMiddleware:
    """Audits every refused request: each 401 and 403 (a role that may not, a CSRF failure, a
    sign-in locked out), and each 404 answered to a signed-in user (access scoping answers
    "not found" for a record outside the user's scope). Listed after the authentication
    middleware, so the row names who asked. The path holds ids only; the query is not kept."""

    REFUSALS = (401, 403)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        status = response.status_code
        signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
        if status in self.REFUSALS or (status == 404 and signed_in):
            try:
                audit.record_refused(request=request, status=status)
            except DatabaseError:
                # The refusal stands; a database that cannot take the row must not turn it
                # into a server error.
                logger.exception("Could not audit a refused request")
        return response
