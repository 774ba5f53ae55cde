"""The NETcare Celery application.

Redis is the broker when REDIS_URL is set; the embedded run uses kombu's filesystem transport
(settings.py), so the same worker and beat commands work either way.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "netcare.settings")

app = Celery("netcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
