"""Account security pages: the sign-in lockout, and two-factor enrolment, verification and
management (netcare.mfa). Each page showing a secret or codes is never cached."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from netcare import mfa
from netcare.forms import OtpCodeForm
from netcare.models import AuditEvent

WRONG_CODE = "That code is not right. Check the time on your phone, or use a backup code."
THROTTLED = "Too many wrong codes. Wait a moment before the next try."


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer (AXES_LOCKOUT_CALLABLE) to a sign-in refused after repeated failures,
    on NETcare's login page and the admin site's alike."""
    minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return reverse("home")


def _with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def _secret_for_typing(device: TOTPDevice) -> str:
    secret = base64.b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _needs_verification_first(request: HttpRequest) -> bool:
    """A user with a device changes their second factor only from a verified session."""
    return mfa.has_device(request.user) and not mfa.is_verified(request.user)


@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    next_url = _next(request)
    user = request.user
    if mfa.is_verified(user):
        return redirect(next_url)
    if not mfa.has_device(user):
        return redirect(_with_next("mfa-enrol", next_url))
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, problem = mfa.verify(user, form.cleaned_data["code"])
        if device is not None:
            mfa.complete(request, device)
            mfa.record(request, AuditEvent.Action.MFA_VERIFIED, user, f"Verified: {device.name}")
            return redirect(next_url)
        mfa.record(request, AuditEvent.Action.MFA_FAILED, user,
                   "Verification refused: too many wrong codes" if problem == "throttled"
                   else "Verification: wrong code")
        form.add_error("code", THROTTLED if problem == "throttled" else WRONG_CODE)
    return render(request, "registration/mfa_verify.html", {"form": form, "next": next_url})


@never_cache
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: scan the QR code (or type the secret), confirm one code.
    The first enrolment also makes the backup codes, shown once."""
    next_url = _next(request)
    user = request.user
    if _needs_verification_first(request):
        return redirect(_with_next("mfa-verify", request.get_full_path()))
    device = mfa.pending_authenticator(user)
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = "".join(form.cleaned_data["code"].split())
        confirmed = django_otp.verify_token(user, device.persistent_id, code)
        if confirmed is not None:
            device = confirmed
            replaced = mfa.confirm_authenticator(user, device)
            mfa.complete(request, device)
            mfa.record(request, AuditEvent.Action.MFA_ENROLLED, user,
                       f"Enrolled: {device.name}" + (" (replacing the earlier one)"
                                                     if replaced else ""))
            if StaticToken.objects.filter(device__user=user).exists():
                messages.success(request, "Your authenticator app is set up.")
                return redirect(next_url)
            codes = mfa.new_backup_codes(user)
            mfa.record(request, AuditEvent.Action.MFA_ENROLLED, user,
                       f"Enrolled: {mfa.BACKUP_NAME}")
            return render(request, "registration/mfa_backup_codes.html",
                          {"codes": codes, "next": next_url, "first_time": True})
        mfa.record(request, AuditEvent.Action.MFA_FAILED, user, "Enrolment: wrong code")
        form.add_error("code", WRONG_CODE)
    return render(request, "registration/mfa_enrol.html", {
        "form": form, "next": next_url, "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308 - SVG drawn by qrcode from our own data
        "secret": _secret_for_typing(device), "required": mfa.must_verify(request)})


@never_cache
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    if _needs_verification_first(request):
        return redirect(_with_next("mfa-verify", request.get_full_path()))
    user = request.user
    authenticator = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    backup_left = StaticToken.objects.filter(device__user=user).count()
    return render(request, "registration/mfa_overview.html", {
        "authenticator": authenticator, "backup_left": backup_left,
        "required": user.role in mfa.required_roles()})


@never_cache
@login_required
@require_POST
def backup_codes(request: HttpRequest) -> HttpResponse:
    if _needs_verification_first(request):
        return redirect(_with_next("mfa-verify", reverse("mfa-overview")))
    codes = mfa.new_backup_codes(request.user)
    mfa.record(request, AuditEvent.Action.MFA_ENROLLED, request.user,
               f"Enrolled: {mfa.BACKUP_NAME} (new set)")
    return render(request, "registration/mfa_backup_codes.html",
                  {"codes": codes, "next": reverse("mfa-overview"), "first_time": False})


@never_cache
@login_required
@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    if _needs_verification_first(request):
        return redirect(_with_next("mfa-verify", reverse("mfa-overview")))
    kind = request.POST.get("kind")
    kinds = {"totp": ("totp",), "static": ("static",)}.get(kind, ())
    removed = mfa.remove_devices(request.user, kinds=kinds)
    mfa.record_removal(request, request.user, removed)
    if removed:
        messages.success(request, f"Removed: {', '.join(removed)}.")
    return redirect("mfa-overview")
