"""/healthz answers 200 when the database and broker answer, 503 naming what does not."""

import pytest
from django.db.utils import ConnectionHandler

from netcare import health
from netcare.celery import app

pytestmark = pytest.mark.django_db


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_broker_down_is_503_naming_the_broker(client, monkeypatch):
    # A real connection attempt to a port where nothing listens.
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("unavailable")


def test_database_down_is_503_naming_the_database(client, monkeypatch, settings):
    dead = ConnectionHandler({"default": {
        **settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": "1",
        "ENGINE": "django.db.backends.postgresql", "NAME": "netcare", "TEST": {},
        "OPTIONS": {"connect_timeout": 2},
    }})
    monkeypatch.setattr(health, "connection", dead["default"])
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("unavailable")
    assert body["broker"] == "ok"
    dead["default"].close()
