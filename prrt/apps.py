from django.apps import AppConfig


class PrrtConfig(AppConfig):
    name = "prrt"
    verbose_name = "PRRT courses and cycles"

    def ready(self) -> None:
        # Handlers import services and models, which need the app registry: imported here.
        from netcare import events
        from prrt.handlers import HANDLERS

        events.subscribe_all(HANDLERS)
