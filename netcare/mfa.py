"""Two-factor authentication with django-otp: an authenticator app (TOTP) and backup codes.

Who must verify a second factor after the password: the roles in NETCARE_MFA_REQUIRED_ROLES,
anyone who has enrolled a device (an optional second factor is still checked), and, whenever any
role requires it, everyone on the admin site. Until then every page sends them to enrol (no device
yet) or to verify; the API answers 403. Verification is kept in the session (django_otp.login).
"""

from __future__ import annotations

from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core import checks
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from netcare import audit
from netcare.models import AuditEvent, Role

# Set at sign-in: the user had a confirmed device then, so this session must verify it.
ENROLLED = "netcare_mfa_enrolled"
BACKUP_CODES = 10
AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"

# Pages a signed-in user reaches before verifying: signing out, the two-factor pages themselves,
# the session clock and the health check.
EXEMPT_VIEWS = {"logout", "admin:logout", "mfa-verify", "mfa-enrol", "session-status", "healthz"}


def required_roles() -> set[str]:
    return set(settings.NETCARE_MFA_REQUIRED_ROLES)


def enforced() -> bool:
    """Whether any role must use a second factor (and so the admin site too)."""
    return bool(required_roles())


def is_verified(user) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def has_device(user) -> bool:
    return django_otp.user_has_device(user)


def _required_here(request: HttpRequest, view_name: str) -> bool:
    return (request.user.role in required_roles()
            or (enforced() and view_name.startswith("admin:")))


def must_verify(request: HttpRequest, view_name: str = "") -> bool:
    if not request.user.is_authenticated:
        return False
    return _required_here(request, view_name) or bool(request.session.get(ENROLLED))


def admin_site_allows(request: HttpRequest) -> bool:
    """The admin site's extra condition on top of staff status."""
    return not enforced() or is_verified(request.user)


@receiver(user_logged_in, dispatch_uid="netcare-mfa-enrolled")
def _note_enrolment(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[ENROLLED] = has_device(user)


def verify(user, code: str) -> tuple[Device | None, str]:
    """The device that accepts `code` (six digits: the authenticator app; otherwise a backup
    code, used up by this), or None and why not: "wrong" or "throttled" (django-otp's
    exponential back-off after wrong codes)."""
    code = "".join(code.split()).lower()
    model = TOTPDevice if (len(code) == 6 and code.isdigit()) else StaticDevice
    throttled = False
    for device in model.objects.devices_for_user(user, confirmed=True):
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            throttled = True
            continue
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified, ""
    return None, ("throttled" if throttled else "wrong")


def complete(request: HttpRequest, device) -> None:
    """The session is verified by `device` from now on (a new session key: a privilege change)."""
    django_otp.login(request, device)
    request.session[ENROLLED] = True
    request.session.cycle_key()


def pending_authenticator(user) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled (its secret is shown until confirmed)."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def confirm_authenticator(user, device: TOTPDevice) -> int:
    """Make `device` the user's authenticator; returns how many earlier ones it replaced."""
    with transaction.atomic():
        earlier = TOTPDevice.objects.devices_for_user(user).exclude(pk=device.pk)
        replaced = earlier.filter(confirmed=True).count()
        earlier.delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return replaced


def new_backup_codes(user) -> list[str]:
    """Ten new single-use codes replacing any earlier ones; shown once, never again."""
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    with transaction.atomic():
        device = StaticDevice.objects.devices_for_user(user).first()
        if device is None:
            device = StaticDevice.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def remove_devices(user, *, kinds=("totp", "static")) -> list[str]:
    """Delete the user's devices of the given kinds; returns what was removed, for the audit."""
    removed = []
    with transaction.atomic():
        if "totp" in kinds and TOTPDevice.objects.filter(user=user).delete()[0]:
            removed.append(AUTHENTICATOR_NAME)
        if "static" in kinds and StaticDevice.objects.filter(user=user).delete()[0]:
            removed.append(BACKUP_NAME)
    return removed


def record(request: HttpRequest | None, action: str, user, note: str, actor=None) -> None:
    """An audit row about `user`'s second factor (by `actor`, the user themselves by default)."""
    audit.record(actor=actor or user, action=action, obj=user, note=note,
                 ip_address=audit.client_ip(request) if request is not None else None)


def record_removal(request: HttpRequest, user, removed: list[str], *, actor=None) -> None:
    if removed:
        by = " by an administrator" if actor is not None and actor.pk != user.pk else ""
        record(request, AuditEvent.Action.MFA_REMOVED, user,
               f"Removed{by}: {', '.join(removed)}", actor=actor)


class MfaRequiredMiddleware:
    """Sends a signed-in user who must verify a second factor, and has not, to enrol or verify."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        view_name = match.view_name if match else ""
        if view_name in EXEMPT_VIEWS or not must_verify(request, view_name):
            return None
        if is_verified(request.user):
            return None
        enrolled = has_device(request.user)
        if not enrolled and not _required_here(request, view_name):
            request.session[ENROLLED] = False  # the optional device is gone (removed since)
            return None
        if request.path.startswith(("/api/", "/fhir/")):
            return JsonResponse({"detail": "Verify your second factor first."}, status=403)
        target = reverse("mfa-verify" if enrolled else "mfa-enrol")
        target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)


@checks.register(checks.Tags.security)
def check_required_roles(app_configs, **kwargs):
    unknown = required_roles() - set(Role.values)
    if unknown:
        return [checks.Error(
            f"NETCARE_MFA_REQUIRED_ROLES names unknown roles: {', '.join(sorted(unknown))}.",
            hint=f"Use any of {', '.join(Role.values)}, comma-separated, or leave it empty.",
            id="netcare.E001")]
    return []
