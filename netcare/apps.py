from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin import apps as admin_apps


class NetcareAdminConfig(admin_apps.AdminConfig):
    """Django's admin with NETcare's site: a verified second factor on top of staff status."""

    default = False  # installed by name in INSTALLED_APPS; NetcareConfig is this module's default
    default_site = "netcare.admin_site.NetcareAdminSite"


class NetcareConfig(AppConfig):
    name = "netcare"
    verbose_name = "NETcare core"

    def ready(self) -> None:
        # Sign-in, sign-out and lockout audit rows; the MFA settings check.
        from netcare import auth_audit, mfa  # noqa: F401

        broker_options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            folder = broker_options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
        # WhiteNoise expects STATIC_ROOT to exist even before collectstatic has run.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
