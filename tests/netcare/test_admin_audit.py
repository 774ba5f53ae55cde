"""What an administrator changes about a person's access in the Django admin is audited as such:
role, centre, activation, staff status, the password, a new user."""

import pytest
from django.urls import reverse

from netcare.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


def change_form(user, **changes):
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name,
        "email": user.email, "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "", "is_superuser": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "role": user.role, "centre": user.centre_id or "", "specialty": user.specialty,
        "phone": user.phone,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def rows(user):
    return list(AuditEvent.objects.filter(object_id=str(user.external_id),
                                          object_type="netcare.User").order_by("id"))


def test_role_centre_and_activation_changes_are_audited(client, administrator, navigator,
                                                        other_centre):
    client.force_login(administrator)
    url = reverse("admin:netcare_user_change", args=[navigator.pk])
    response = client.post(url, change_form(navigator, role=Role.SPECIALIST,
                                            centre=other_centre.pk, is_active=""))
    assert response.status_code == 302, response.context["adminform"].form.errors
    [row] = rows(navigator)
    assert row.action == AuditEvent.Action.UPDATE
    assert row.actor == administrator
    assert row.changes == {
        "role": [Role.NAVIGATOR, Role.SPECIALIST],
        "centre_id": [navigator.centre_id, other_centre.pk],
        "is_active": [True, False],
    }
    assert row.note == "Access changed by an administrator: centre_id, is_active, role"


def test_a_change_of_other_details_only_is_not_an_access_change(client, administrator,
                                                                 navigator):
    client.force_login(administrator)
    url = reverse("admin:netcare_user_change", args=[navigator.pk])
    assert client.post(url, change_form(navigator, phone="0123 456")).status_code == 302
    assert rows(navigator) == []


def test_granting_staff_status_is_audited(client, administrator, navigator):
    client.force_login(administrator)
    url = reverse("admin:netcare_user_change", args=[navigator.pk])
    client.post(url, change_form(navigator, is_staff="on"))
    assert rows(navigator)[0].changes == {"is_staff": [False, True]}


def test_a_new_user_is_audited_with_role_and_centre(client, administrator, centre):
    client.force_login(administrator)
    response = client.post(reverse("admin:netcare_user_add"), {
        "username": "newnurse", "password1": "a-long-enough-secret-42",
        "password2": "a-long-enough-secret-42", "usable_password": "true",
        "role": Role.NAVIGATOR, "centre": centre.pk, "first_name": "New",
        "last_name": "Nurse", "email": "new@netcare.example"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, object_type="netcare.User")
    assert row.actor == administrator
    assert row.changes["role"] == [None, Role.NAVIGATOR]
    assert row.changes["centre_id"] == [None, centre.pk]


def test_a_password_set_by_an_administrator_is_audited(client, administrator, navigator):
    client.force_login(administrator)
    url = reverse("admin:auth_user_password_change", args=[navigator.pk])
    response = client.post(url, {"password1": "a-new-secret-for-you-7",
                                 "password2": "a-new-secret-for-you-7",
                                 "usable_password": "true"})
    assert response.status_code == 302
    [row] = rows(navigator)
    assert row.note == "Password set by an administrator"
    assert "a-new-secret" not in str(row.changes)


def test_the_user_list_shows_who_has_a_second_factor(client, administrator, specialist):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=specialist, name="Authenticator app")
    client.force_login(administrator)
    response = client.get(reverse("admin:netcare_user_changelist"))
    assert response.status_code == 200
    assert "Two-factor" in response.content.decode()
