"""Interoperability: lab results in by HL7 v2 and FHIR, the record out as FHIR R4, and systems
signing in with OAuth2. The top layer: it reads every app below it and nothing imports it."""
from django.apps import AppConfig


class InteropConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "interop"
    verbose_name = "Interoperability"

    def ready(self) -> None:
        from oauth2_provider.signals import app_authorized

        from interop.auth import record_token_issued

        # Every token issued to a registered system is audited as that system.
        app_authorized.connect(record_token_issued, dispatch_uid="interop-token-issued")
