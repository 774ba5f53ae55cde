from django.conf import settings
from django.http import HttpRequest

from netcare import session
from netcare.models import Role


def netcare(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    role = getattr(user, "role", "") if signed_in else ""
    context = {"user_role": role, "Role": Role}
    if signed_in and hasattr(request, "session"):
        # The automatic logoff's clock for the page's warning (static netcare/session.js).
        # This request counted as activity: the idle limit is whole again.
        _idle_left, absolute_left = session.remaining(request)
        context.update(session_idle_seconds=settings.NETCARE_SESSION_IDLE_SECONDS,
                       session_absolute_remaining=max(absolute_left, 0),
                       session_warning_seconds=settings.NETCARE_SESSION_WARNING_SECONDS)
    return context
