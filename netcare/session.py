"""Automatic logoff: a session ends after NETCARE_SESSION_IDLE_SECONDS without a request and
NETCARE_SESSION_ABSOLUTE_SECONDS after signing in, whatever happens in between. The logoff is
audited with its reason (netcare.auth_audit). The page warns a minute before (static
netcare/session.js, which asks `session_status` how long is left without extending it).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

LOGIN_AT = "netcare_login_at"
LAST_SEEN = "netcare_last_seen"

# Activity moves the idle limit in steps of this many seconds: a request within them of the last
# recorded one leaves the session unchanged, so a page or an API call in a busy minute writes no
# session (the idle logoff then comes at most this much before the full idle time).
ACTIVITY_STEP_SECONDS = 10

IDLE = "Signed out automatically after {minutes} minutes without activity"
ABSOLUTE = "Signed out automatically {hours} hours after signing in"


def start(request: HttpRequest) -> None:
    """The session's clock starts now (called when someone signs in)."""
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now


def remaining(request: HttpRequest, now: float | None = None) -> tuple[int, int]:
    """Seconds left before the idle and the absolute logoff (negative once passed). A session
    without a clock (one from before these limits) has none left."""
    now = time.time() if now is None else now
    login_at = request.session.get(LOGIN_AT)
    if login_at is None:
        return -1, -1
    last_seen = request.session.get(LAST_SEEN, login_at)
    return (int(last_seen + settings.NETCARE_SESSION_IDLE_SECONDS - now),
            int(login_at + settings.NETCARE_SESSION_ABSOLUTE_SECONDS - now))


def _reason(idle_left: int, absolute_left: int) -> str:
    if absolute_left < 0:
        return ABSOLUTE.format(hours=f"{settings.NETCARE_SESSION_ABSOLUTE_SECONDS / 3600:g}")
    if idle_left < 0:
        return IDLE.format(minutes=settings.NETCARE_SESSION_IDLE_SECONDS // 60)
    return ""


class SessionTimeoutMiddleware:
    """Ends a signed-in session past either limit before the view runs, and otherwise counts the
    request as activity (in steps of ACTIVITY_STEP_SECONDS; the status check only reads the
    clock, unless it is asked to stay signed in)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            idle_left, absolute_left = remaining(request, now)
            reason = _reason(idle_left, absolute_left)
            if reason:
                return self._log_off(request, reason)
            if request.path == reverse("session-status"):
                if request.method != "GET":  # "Stay signed in" moves the limit to the second
                    request.session[LAST_SEEN] = int(now)
            elif now - request.session.get(LAST_SEEN, 0) >= ACTIVITY_STEP_SECONDS:
                request.session[LAST_SEEN] = int(now)
        return self.get_response(request)

    def _log_off(self, request: HttpRequest, reason: str) -> HttpResponse:
        path = request.get_full_path()
        request.netcare_logout_reason = reason
        logout(request)
        if request.path.startswith(("/api/", "/fhir/")):
            return self.get_response(request)  # the API answers 403 to an anonymous request
        messages.info(request, f"{reason}. Sign in again to continue.")
        if request.path == reverse("session-status"):
            return self.get_response(request)  # tells the page's script, which leaves
        login = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': path})}"
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login
            return response
        return HttpResponseRedirect(login)


@never_cache
@require_http_methods(["GET", "POST"])
def session_status(request: HttpRequest) -> JsonResponse:
    """How long the session has left. GET only reads it; POST ("Stay signed in") is activity, so
    the middleware has already moved the idle limit."""
    if not request.user.is_authenticated:
        return JsonResponse({"authenticated": False, "idle_remaining": 0,
                             "absolute_remaining": 0})
    idle_left, absolute_left = remaining(request)
    return JsonResponse({"authenticated": True, "idle_remaining": max(idle_left, 0),
                         "absolute_remaining": max(absolute_left, 0)})
