"""Login, role home pages, throttling, password change, logout."""

import pytest
from django.urls import reverse

from netcare.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "netcare-demo"


def login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.mark.parametrize(
    ("persona", "home"),
    [("navigator", "/navigator/"), ("specialist", "/specialist/"),
     ("oncologist", "/oncologist/"), ("administrator", "/admin/")],
)
def test_each_role_lands_on_its_home(client, request, persona, home):
    user = request.getfixturevalue(persona)
    response = login(client, user.username)
    assert response.status_code == 302
    landing = client.get(response["Location"], follow=True)
    assert landing.redirect_chain[-1][0] == home
    assert landing.status_code == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN, actor=user).exists()


@pytest.mark.parametrize(
    ("persona", "page"),
    [("navigator", "specialist-home"), ("oncologist", "navigator-home"),
     ("specialist", "oncologist-home")],
)
def test_role_homes_refuse_other_roles(client, request, persona, page):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(page)).status_code == 403


def test_wrong_password_is_a_form_error(client, navigator):
    response = login(client, "navigator", "wrong-password")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == 1


def test_repeated_failures_are_throttled_even_with_the_right_password(client, navigator, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert login(client, "navigator", "wrong-password").status_code == 200
    assert login(client, "navigator", "wrong-password").status_code == 429
    response = login(client, "navigator", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_fewer_failures_still_let_the_user_in_and_reset_the_count(client, navigator, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        login(client, "navigator", "wrong-password")
    assert login(client, "navigator").status_code == 302
    client.logout()
    for _ in range(4):
        login(client, "navigator", "wrong-password")
    assert login(client, "navigator").status_code == 302


def test_passwords_are_hashed_with_argon2(navigator):
    assert navigator.password.startswith("argon2")


def test_password_change(client, navigator):
    client.force_login(navigator)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "a-much-longer-secret-42",
        "new_password2": "a-much-longer-secret-42",
    })
    assert response.status_code == 302
    navigator.refresh_from_db()
    assert navigator.check_password("a-much-longer-secret-42")


def test_logout_is_a_post(client, navigator):
    client.force_login(navigator)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("navigator-home")).status_code == 302


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
