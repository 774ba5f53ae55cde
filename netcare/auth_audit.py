"""Audit rows for signing in and out, whatever the path (NETcare's login page, the admin site's,
an automatic logoff), and the session's clock for the automatic logoff (netcare.session).

A successful password sign-in is recorded by the login views themselves (netcare.views.LoginView,
netcare.admin_site): Django's `user_logged_in` also fires for sessions made without a password.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from netcare import audit, session
from netcare.models import AuditEvent

USERNAME_SHOWN = 150


@receiver(user_logged_in, dispatch_uid="netcare-session-clock")
def start_session_clock(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        session.start(request)


@receiver(user_login_failed, dispatch_uid="netcare-audit-login-failed")
def audit_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    """Every refused sign-in, with the username that was tried (never the password) and whether
    django-axes refused it because of earlier failures (it runs first and marks the request)."""
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:USERNAME_SHOWN]
    account = get_user_model().objects.filter(username=username).first() if username else None
    locked = bool(getattr(request, "axes_locked_out", False))
    audit.record(
        actor=None,
        action=AuditEvent.Action.LOGIN_FAILED,
        obj=account,
        changes={"username": username},
        note=(f"Refused, too many failures: {username}" if locked else f"Failed: {username}"),
        ip_address=audit.client_ip(request) if request is not None else None,
    )


@receiver(user_logged_out, dispatch_uid="netcare-audit-logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    reason = getattr(request, "netcare_logout_reason", "") if request is not None else ""
    audit.record(
        actor=user,
        action=AuditEvent.Action.LOGOUT,
        note=reason or "Signed out",
        ip_address=audit.client_ip(request) if request is not None else None,
    )
