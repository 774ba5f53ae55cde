"""A service that does not answer is a 503 saying which (netcare.unavailable), never a 500
traceback; sessions go on from the database while Redis is down (netcare.session_store). The
same with real servers stopped and started: tests/netcare/test_faults_pages.py."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import Client
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError

from netcare import health, unavailable
from netcare.session_store import SessionStore

DEAD_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "netcare"}}


def handle(rf, path: str, exc: Exception):
    """The handler as Django calls it: while the exception is being handled."""
    try:
        raise exc
    except Exception:
        return unavailable.server_error(rf.get(path))


@pytest.mark.django_db
def test_a_page_whose_database_does_not_answer_is_a_503_page(monkeypatch):
    def refused():
        raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr(health, "status", refused)
    response = Client(raise_request_exception=False).get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "NETcare is temporarily unavailable" in page
    assert "The database did not answer" in page
    assert "Traceback" not in page and "Connection refused" not in page


def test_the_api_gets_json_and_fhir_an_operation_outcome(rf):
    api = handle(rf, "/api/v1/patients/", OperationalError("gone"))
    assert api.status_code == 503
    assert json.loads(api.content) == {
        "detail": "The database did not answer. Please try again in a minute.", "field": None}
    fhir = handle(rf, "/fhir/R4/Patient", BrokerError("gone"))
    assert fhir.status_code == 503
    assert fhir["Content-Type"] == "application/fhir+json"
    issue = json.loads(fhir.content)["issue"][0]
    assert issue["code"] == "transient"
    assert issue["diagnostics"].startswith("Redis")


def test_a_redis_error_raised_from_another_names_redis(rf):
    try:
        raise RedisConnectionError("Error 111 connecting")
    except RedisConnectionError as cause:
        wrapped = RuntimeError("while loading the session")
        wrapped.__cause__ = cause
    response = handle(rf, "/navigator/", wrapped)
    assert response.status_code == 503
    assert "Redis (the cache and the message broker) did not answer" in response.content.decode()


def test_any_other_error_stays_a_500(rf):
    response = handle(rf, "/navigator/", ValueError("a bug"))
    assert response.status_code == 500
    assert "Retry-After" not in response


@pytest.mark.django_db
def test_sessions_are_read_from_the_database_while_redis_is_down(settings):
    settings.CACHES = DEAD_REDIS
    store = SessionStore()
    store["netcare_login_at"] = 1
    store.save(must_create=True)  # the key is checked free (cache, then database) and saved
    again = SessionStore(store.session_key)
    assert again["netcare_login_at"] == 1  # the cache failed: read from the database
    assert again.exists(store.session_key)
    # Signing out still needs the cache, or a cached copy could outlive the sign-out.
    with pytest.raises(RedisConnectionError):
        again.delete()
