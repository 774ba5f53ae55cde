"""`Cache-Control: no-store` on every response NETcare renders.

Pages, API answers, PDFs and the calendar feed carry patient data: no browser, proxy or shared
cache may keep a copy (a back button on a shared ward computer, a caching proxy in a hospital).
Static files never reach this middleware: WhiteNoise, above it in MIDDLEWARE, answers them with
their own long-lived caching; anything under STATIC_URL is left alone here too, whoever serves it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


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
