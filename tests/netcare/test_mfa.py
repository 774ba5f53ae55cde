"""Two-factor authentication: who must use it, enrolment with the QR code, verification after the
password, backup codes used once, the admin site, and the audit rows of every step."""

import datetime as dt

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from netcare import mfa
from netcare.models import AuditEvent, Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.mfa]
PASSWORD = "netcare-demo"
START = dt.datetime(2025, 3, 3, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(time_machine):
    """Time stands still unless a test moves it: one TOTP code per 30-second step is accepted
    once only, so the tests step past it between two verifications."""
    time_machine.move_to(START, tick=False)
    return time_machine


def code_for(device) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"


def sign_in(client, username):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name=mfa.AUTHENTICATOR_NAME, confirmed=True)


def actions(user) -> list[tuple[str, str]]:
    return [(e.action, e.note) for e in
            AuditEvent.objects.filter(object_id=str(user.external_id),
                                      action__startswith="mfa_").order_by("id")]


def test_production_default_is_administrators_and_specialists(settings):
    assert set(settings.NETCARE_MFA_REQUIRED_ROLES) == {Role.ADMINISTRATOR, Role.SPECIALIST}


def test_a_specialist_is_sent_to_enrol_until_verified(client, specialist, clock):
    sign_in(client, "specialist")
    response = client.get(reverse("specialist-home"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/enrol/?next=%2Fspecialist%2F"
    assert client.get("/api/v1/patients/").status_code == 403

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "Key:" in body
    assert page["Cache-Control"].startswith("max-age=0")
    device = TOTPDevice.objects.get(user=specialist, confirmed=False)

    wrong = client.post(reverse("mfa-enrol"), {"code": "000000", "next": "/specialist/"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    assert client.get(reverse("specialist-home")).status_code == 302

    clock.shift(31)  # past the throttle's one-second pause after the wrong code
    done = client.post(reverse("mfa-enrol"), {"code": code_for(device), "next": "/specialist/"})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and all(code in done.content.decode() for code in codes)
    assert client.get(reverse("specialist-home")).status_code == 200
    assert client.get("/api/v1/patients/").status_code == 200
    assert actions(specialist) == [
        (AuditEvent.Action.MFA_FAILED, "Enrolment: wrong code"),
        (AuditEvent.Action.MFA_ENROLLED, "Enrolled: Authenticator app"),
        (AuditEvent.Action.MFA_ENROLLED, "Enrolled: Backup codes"),
    ]


def test_an_enrolled_specialist_verifies_after_the_password(client, specialist, clock):
    device = enrolled(specialist)
    sign_in(client, "specialist")
    response = client.get(reverse("specialist-home"))
    assert response["Location"] == "/accounts/mfa/verify/?next=%2Fspecialist%2F"
    # Enrolling another authenticator is no way around the device already there.
    assert client.get(reverse("mfa-enrol"))["Location"].startswith("/accounts/mfa/verify/")
    assert client.get(reverse("mfa-overview"))["Location"].startswith("/accounts/mfa/verify/")

    refused = client.post(reverse("mfa-verify"), {"code": "123456", "next": "/specialist/"})
    assert refused.status_code == 200
    clock.shift(31)
    session_before = client.session.session_key
    verified = client.post(reverse("mfa-verify"), {"code": code_for(device),
                                                   "next": "/specialist/"})
    assert verified.status_code == 302 and verified["Location"] == "/specialist/"
    assert client.session.session_key != session_before  # a new session key once verified
    assert client.get(reverse("specialist-home")).status_code == 200
    assert actions(specialist) == [
        (AuditEvent.Action.MFA_FAILED, "Verification: wrong code"),
        (AuditEvent.Action.MFA_VERIFIED, "Verified: Authenticator app"),
    ]


def test_verification_does_not_follow_a_next_to_another_site(client, specialist, clock):
    device = enrolled(specialist)
    sign_in(client, "specialist")
    response = client.post(reverse("mfa-verify"), {"code": code_for(device),
                                                   "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_wrong_codes_are_throttled(client, specialist, clock):
    device = enrolled(specialist)
    sign_in(client, "specialist")
    client.post(reverse("mfa-verify"), {"code": "000000"})
    response = client.post(reverse("mfa-verify"), {"code": code_for(device)})
    assert response.status_code == 200  # the right code, but within the back-off
    assert "Too many wrong codes" in response.content.decode()
    assert actions(specialist)[-1] == (AuditEvent.Action.MFA_FAILED,
                                       "Verification refused: too many wrong codes")


def test_a_navigator_needs_no_second_factor_by_default(client, navigator):
    sign_in(client, "navigator")
    assert client.get(reverse("navigator-home")).status_code == 200
    assert client.get("/api/v1/patients/").status_code == 200


def test_a_navigator_who_enrolled_anyway_verifies_too(client, navigator, clock):
    device = enrolled(navigator)
    sign_in(client, "navigator")
    assert client.get(reverse("navigator-home"))["Location"].startswith("/accounts/mfa/verify/")
    clock.shift(31)
    client.post(reverse("mfa-verify"), {"code": code_for(device)})
    assert client.get(reverse("navigator-home")).status_code == 200


def test_the_roles_follow_the_setting(client, navigator, settings):
    settings.NETCARE_MFA_REQUIRED_ROLES = [Role.NAVIGATOR]
    sign_in(client, "navigator")
    assert client.get(reverse("navigator-home"))["Location"].startswith("/accounts/mfa/enrol/")


def test_a_backup_code_works_once(client, specialist, clock):
    enrolled(specialist)
    first, second = mfa.new_backup_codes(specialist)[:2]
    sign_in(client, "specialist")
    ok = client.post(reverse("mfa-verify"), {"code": first.upper(), "next": "/specialist/"})
    assert ok.status_code == 302 and ok["Location"] == "/specialist/"
    assert client.get(reverse("specialist-home")).status_code == 200
    assert StaticToken.objects.filter(device__user=specialist).count() == 9

    client.post(reverse("logout"))
    clock.shift(60)
    sign_in(client, "specialist")
    again = client.post(reverse("mfa-verify"), {"code": first})
    assert again.status_code == 200 and "not right" in again.content.decode()
    clock.shift(60)
    assert client.post(reverse("mfa-verify"), {"code": second}).status_code == 302
    assert client.get(reverse("specialist-home")).status_code == 200


def test_the_admin_site_requires_a_verified_device(client, administrator, clock):
    sign_in(client, "admin")
    assert client.get("/admin/")["Location"] == "/accounts/mfa/enrol/?next=%2Fadmin%2F"
    device = enrolled(administrator)
    assert client.get("/admin/")["Location"] == "/accounts/mfa/verify/?next=%2Fadmin%2F"
    client.post(reverse("mfa-verify"), {"code": code_for(device)})
    assert client.get("/admin/").status_code == 200


def test_the_admin_site_requires_it_of_staff_in_any_role(client, centre):
    staff = UserFactory(username="staffnav", role=Role.NAVIGATOR, centre=centre, is_staff=True,
                        is_superuser=True)
    client.force_login(staff)
    assert client.get(reverse("navigator-home")).status_code == 200
    assert client.get("/admin/")["Location"].startswith("/accounts/mfa/enrol/")


def test_the_admin_site_checks_verification_itself(rf, administrator):
    from django.contrib import admin
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/admin/")
    request.user = administrator
    request.session = SessionStore()
    administrator.is_verified = lambda: False
    assert admin.site.has_permission(request) is False
    administrator.is_verified = lambda: True
    assert admin.site.has_permission(request) is True


def test_the_user_removes_a_device_and_is_audited(client, specialist, clock):
    device = enrolled(specialist)
    mfa.new_backup_codes(specialist)
    sign_in(client, "specialist")
    client.post(reverse("mfa-verify"), {"code": code_for(device)})
    assert client.get(reverse("mfa-overview")).status_code == 200
    response = client.post(reverse("mfa-remove"), {"kind": "totp"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=specialist).exists()
    assert actions(specialist)[-1] == (AuditEvent.Action.MFA_REMOVED,
                                       "Removed: Authenticator app")
    # Still required: the remaining backup codes have to be used to go on.
    assert client.get(reverse("specialist-home"))["Location"].startswith("/accounts/mfa/verify/")


def test_new_backup_codes_replace_the_old_ones(client, specialist, clock):
    device = enrolled(specialist)
    old = mfa.new_backup_codes(specialist)
    sign_in(client, "specialist")
    client.post(reverse("mfa-verify"), {"code": code_for(device)})
    response = client.post(reverse("mfa-backup-codes"))
    new = response.context["codes"]
    assert set(new).isdisjoint(old)
    assert set(StaticToken.objects.filter(device__user=specialist)
               .values_list("token", flat=True)) == set(new)
    assert actions(specialist)[-1] == (AuditEvent.Action.MFA_ENROLLED,
                                       "Enrolled: Backup codes (new set)")


def test_the_administrator_removes_a_lost_device_and_is_audited(client, administrator,
                                                                specialist, clock):
    lost = enrolled(specialist)
    client.force_login(administrator)
    client.post(reverse("mfa-verify"), {"code": code_for(enrolled(administrator))})
    url = reverse("admin:otp_totp_totpdevice_delete", args=[lost.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    row = AuditEvent.objects.get(action=AuditEvent.Action.MFA_REMOVED)
    assert row.actor == administrator
    assert row.object_id == str(specialist.external_id)
    assert row.note == "Removed by an administrator: Authenticator app"
    # The device pages never show a secret, and nobody adds a device for someone else.
    assert client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403


def test_the_administrators_reset_action_is_audited(client, administrator, specialist, clock):
    enrolled(specialist)
    mfa.new_backup_codes(specialist)
    client.force_login(administrator)
    client.post(reverse("mfa-verify"), {"code": code_for(enrolled(administrator))})
    response = client.post(reverse("admin:netcare_user_changelist"),
                           {"action": "reset_two_factor", "_selected_action": [specialist.pk]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=specialist).exists()
    assert not StaticDevice.objects.filter(user=specialist).exists()
    row = AuditEvent.objects.get(action=AuditEvent.Action.MFA_REMOVED,
                                 object_id=str(specialist.external_id))
    assert row.actor == administrator
    assert row.note == "Removed by an administrator: Authenticator app, Backup codes"


def test_unknown_roles_in_the_setting_fail_the_checks(settings):
    settings.NETCARE_MFA_REQUIRED_ROLES = ["specialist", "surgeon"]
    errors = mfa.check_required_roles(None)
    assert [e.id for e in errors] == ["netcare.E001"]
    assert "surgeon" in errors[0].msg


def test_an_optional_device_removed_since_signing_in_asks_for_nothing(client, navigator):
    device = enrolled(navigator)
    sign_in(client, "navigator")
    assert client.get(reverse("navigator-home")).status_code == 302
    device.delete()  # an administrator removed it
    assert client.get(reverse("navigator-home")).status_code == 200
