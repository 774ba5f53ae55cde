"""NETcare's admin site (installed through netcare.apps.NetcareAdminConfig as `admin.site`).

On top of staff status it requires a verified second factor whenever two-factor authentication
is required for any role (netcare.mfa); an unverified administrator is sent to verify first by
netcare.mfa.MfaRequiredMiddleware. Its login page goes through django-axes like every sign-in,
and a successful sign-in there is audited like one on NETcare's own login page.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite


class NetcareAdminSite(AdminSite):
    site_header = "NETcare administration"
    site_title = "NETcare administration"

    # Like Django's own site, this module is imported while apps load: models only inside methods.

    def has_permission(self, request) -> bool:
        from netcare import mfa

        return super().has_permission(request) and mfa.admin_site_allows(request)

    def login(self, request, extra_context=None):
        from netcare import audit
        from netcare.models import AuditEvent

        response = super().login(request, extra_context)
        if (request.method == "POST" and response.status_code == 302
                and request.user.is_authenticated):
            audit.record(actor=request.user, action=AuditEvent.Action.LOGIN,
                         note="Admin site", ip_address=audit.client_ip(request))
        return response
