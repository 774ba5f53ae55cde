"""Sign-in limits (django-axes) on every login path, keyed by username and client address
together; the client address behind a trusted proxy; failed sign-ins audited with the username."""

import ipaddress

import pytest
from django.test import RequestFactory
from django.urls import reverse

from netcare import audit
from netcare.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "netcare-demo"
ADMIN_LOGIN = "/admin/login/"


def login(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def admin_login(client, username, password=PASSWORD, **extra):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password,
                                     "next": "/admin/"}, **extra)


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 5


def test_admin_login_is_throttled_and_refuses_the_locked_account(client, administrator):
    for _ in range(4):
        assert admin_login(client, "admin", "wrong-password").status_code == 200
    assert admin_login(client, "admin", "wrong-password").status_code == 429
    response = admin_login(client, "admin")  # the right password, too late
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_an_account_locked_on_the_login_page_cannot_sign_in_through_the_admin_site(
        client, administrator):
    for _ in range(5):
        login(client, "admin", "wrong-password")
    assert login(client, "admin").status_code == 429
    assert admin_login(client, "admin").status_code == 429
    assert "_auth_user_id" not in client.session


def test_fifty_failures_from_one_address_do_not_lock_another_user(client, navigator,
                                                                  specialist):
    tried = ["navigator"] + [f"guess{i}" for i in range(9)]
    for username in tried:
        for _ in range(5):
            login(client, username, "wrong-password")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == 50
    assert login(client, "navigator").status_code == 429
    response = login(client, "specialist")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(specialist.pk)


def test_the_lock_is_for_that_username_from_that_address(client, navigator):
    for _ in range(5):
        login(client, "navigator", "wrong-password", REMOTE_ADDR="198.51.100.7")
    assert login(client, "navigator", REMOTE_ADDR="198.51.100.7").status_code == 429
    assert login(client, "navigator", REMOTE_ADDR="198.51.100.8").status_code == 302


def test_a_failed_sign_in_is_audited_with_the_username_tried(client, navigator):
    login(client, "navigator", "wrong-password", REMOTE_ADDR="192.0.2.10")
    login(client, "no-such-person", "whatever")
    admin_login(client, "navigator", "wrong-again")
    rows = list(AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED)
                .order_by("id"))
    assert [r.changes["username"] for r in rows] == ["navigator", "no-such-person", "navigator"]
    first = rows[0]
    assert first.actor is None
    assert (first.object_type, first.object_id) == ("netcare.User", str(navigator.external_id))
    assert first.ip_address == "192.0.2.10"
    assert "navigator" in first.note
    assert "wrong-password" not in str(first.changes) + first.note
    assert rows[1].object_id == ""


def test_a_refused_attempt_while_locked_is_audited_as_such(client, navigator):
    for _ in range(5):
        login(client, "navigator", "wrong-password")
    login(client, "navigator")
    last = AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).first()
    assert last.note.startswith("Refused, too many failures")


def test_a_successful_admin_sign_in_is_audited(client, administrator):
    response = admin_login(client, "admin")
    assert response.status_code == 302
    row = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN)
    assert row.actor == administrator
    assert row.note == "Admin site"


# --- the client address ----------------------------------------------------------------------


def request_from(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings):
    settings.NETCARE_TRUSTED_PROXIES = []
    assert audit.client_ip(request_from("10.0.0.2", "203.0.113.7")) == "10.0.0.2"


def test_behind_a_trusted_proxy_the_address_it_saw_counts(settings):
    settings.NETCARE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    # A client-written entry on the left is ignored; the proxy appended the real address.
    assert audit.client_ip(request_from("10.0.0.2", "6.6.6.6, 203.0.113.7")) == "203.0.113.7"
    # Two proxies: the right-most address that is not one of them.
    assert audit.client_ip(request_from("10.0.0.2", "203.0.113.7, 10.1.1.1")) == "203.0.113.7"
    # A request that did not come through the proxy: its header is not believed.
    assert audit.client_ip(request_from("198.51.100.1", "203.0.113.7")) == "198.51.100.1"
    # Garbage in the header: the proxy's own address, never the garbage.
    assert audit.client_ip(request_from("10.0.0.2", "not-an-address")) == "10.0.0.2"
    assert audit.client_ip(request_from("10.0.0.2")) == "10.0.0.2"


def test_the_sign_in_limits_use_the_client_address_behind_the_proxy(client, navigator,
                                                                    settings):
    settings.NETCARE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.2/32")]
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(5):
        login(client, "navigator", "wrong-password", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert login(client, "navigator", HTTP_X_FORWARDED_FOR="203.0.113.7",
                 **proxy).status_code == 429
    # Another client behind the same proxy is not locked out with the first one.
    assert login(client, "navigator", HTTP_X_FORWARDED_FOR="203.0.113.8",
                 **proxy).status_code == 302
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED,
                                     ip_address="203.0.113.7").count() == 6
