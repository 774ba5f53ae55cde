from django.apps import AppConfig


class PrrtConfig(AppConfig):
    name = "prrt"
    verbose_name = "PRRT courses and cycles"
