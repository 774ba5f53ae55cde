"""NETcare: coordinated PRRT care for neuroendocrine tumour patients."""

from .celery import app as celery_app

__all__ = ["celery_app"]
