"""The shared-care network around the patient: MDT case conferences, e-consults before a
referral, each centre's NET contacts, and bulletins to its referring practices. Above the care
coordination it turns MDT follow-up actions into (coordinators), below analytics."""
from django.apps import AppConfig


class NetworkConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "network"
    verbose_name = "Shared-care network"
