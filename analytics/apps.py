"""Coordination analytics: the intervals, delays and losses the centre can only shorten when
it sees them, computed from the records and their event rows. The top layer: it reads every
app below it and nothing imports it."""
from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"
    verbose_name = "Coordination analytics"
