from django.apps import AppConfig


class CoordinatorsConfig(AppConfig):
    name = "coordinators"
    verbose_name = "Care coordination"

    def ready(self) -> None:
        # Handlers import services and models, which need the app registry: imported here.
        from coordinators.handlers import HANDLERS
        from netcare import events

        events.subscribe_all(HANDLERS)
