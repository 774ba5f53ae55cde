from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from netcare import audit, throttle
from netcare.models import AuditEvent


class ThrottledAuthenticationForm(AuthenticationForm):
    """The login form, refusing further attempts after repeated failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": (
            "Too many failed sign-in attempts. Wait %(minutes)d minutes and try again, "
            "or ask your centre administrator to reset your password."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip_address = audit.client_ip(self.request) if self.request else None
        if username and throttle.is_locked_out(username, ip_address):
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)},
            )
        try:
            return super().clean()
        except forms.ValidationError:
            if username:
                throttle.register_failure(username, ip_address)
                audit.record(actor=None, action=AuditEvent.Action.LOGIN_FAILED,
                             ip_address=ip_address)
            raise
