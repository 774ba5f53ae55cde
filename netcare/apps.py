from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class NetcareConfig(AppConfig):
    name = "netcare"
    verbose_name = "NETcare core"

    def ready(self) -> None:
        broker_options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            folder = broker_options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
        # WhiteNoise expects STATIC_ROOT to exist even before collectstatic has run.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
