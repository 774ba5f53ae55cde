"""System sign-in with OAuth2 client credentials: tokens issued (and audited) for registered
systems only, for the scopes they were registered with, short-lived; a token with the wrong
scope, of the wrong centre, expired, or of an unregistered client is refused."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.core.management import call_command
from oauth2_provider.models import AccessToken, Application

from interop.models import InboundMessage, SystemClient, UnmatchedResult
from netcare import access
from netcare.models import AuditEvent
from patients.models import LabResult
from tests.factories import PatientFactory
from tests.interop.hl7_builders import CBC, CBC_PANEL, ack_fields, oru, post_oru, register, token

pytestmark = pytest.mark.django_db

DRAWN = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ask(client, client_id, secret, scope=""):
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    return client.post("/o/token/", data, HTTP_AUTHORIZATION=basic(client_id, secret))


@pytest.fixture
def lab_engine(centre):
    return register(centre, scopes=("labs.write", "api.read"))


def test_a_registered_system_gets_a_short_lived_token_audited_as_itself(client, lab_engine):
    response = ask(client, lab_engine.client_id, lab_engine.client_secret, "labs.write")

    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["scope"]) == ("Bearer", "labs.write")
    assert 0 < body["expires_in"] <= 600
    account = lab_engine.system.account
    assert (account.role, account.has_usable_password(), account.centre_id) == (
        "", False, lab_engine.system.centre_id)
    row = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN, actor=account)
    assert row.object_type == "interop.SystemClient" and row.changes["scope"][1] == "labs.write"
    # Only the secret's hash is kept.
    assert Application.objects.get(client_id=lab_engine.client_id).client_secret != \
        lab_engine.client_secret


def test_no_scope_asked_gives_the_registered_scopes(client, lab_engine):
    response = ask(client, lab_engine.client_id, lab_engine.client_secret)
    assert set(response.json()["scope"].split()) == {"labs.write", "api.read"}


def test_a_wrong_secret_or_a_scope_not_registered_gets_no_token(client, lab_engine):
    assert ask(client, lab_engine.client_id, "wrong-secret", "labs.write").status_code == 401
    refused = ask(client, lab_engine.client_id, lab_engine.client_secret, "fhir.read")
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")
    assert not AccessToken.objects.exists()


def test_a_token_without_labs_write_cannot_send_results(client, centre, patient):
    reader = register(centre, name="Riverside EHR", scopes=("fhir.read", "api.read"))
    bearer = token(client, reader, "fhir.read")
    body = oru("SCOPE-1", patient.mrn, [("S1", CBC_PANEL, CBC)], collected=DRAWN)

    response = post_oru(client, bearer, body)

    assert response.status_code == 403
    assert not InboundMessage.objects.exists() and not LabResult.objects.exists()


def test_an_expired_token_is_refused_everywhere(client, lab_engine, patient):
    bearer = token(client, lab_engine, "labs.write api.read")
    AccessToken.objects.filter(token_checksum__isnull=False).update(
        expires=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    body = oru("EXPIRED-1", patient.mrn, [("E1", CBC_PANEL, CBC)], collected=DRAWN)

    response = post_oru(client, bearer, body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    api = client.get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert api.status_code in (401, 403)
    assert not InboundMessage.objects.exists()


def test_a_token_of_an_unregistered_or_deactivated_client_is_refused(client, lab_engine,
                                                                     patient, navigator):
    stray = Application.objects.create(
        name="Not a system", user=navigator, client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="stray-secret-0123456789")
    # Not a registered system: no token.
    assert ask(client, stray.client_id, "stray-secret-0123456789",
               "labs.write").status_code == 400
    bearer = token(client, lab_engine)
    SystemClient.objects.filter(pk=lab_engine.system.pk).update(is_active=False)
    body = oru("OFF-1", patient.mrn, [("O1", CBC_PANEL, CBC)], collected=DRAWN)
    assert post_oru(client, bearer, body).status_code == 401
    assert ask(client, lab_engine.client_id, lab_engine.client_secret).status_code == 400


def test_a_system_sees_only_its_centres_patients_read_only(client, centre, other_centre,
                                                           patient, oncologist):
    elsewhere = PatientFactory(centre=other_centre, referring_oncologist=oncologist)
    reader = register(centre, name="Riverside EHR", scopes=("api.read",))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token(client, reader, 'api.read')}"}

    listed = client.get("/api/v1/patients/", **auth)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["results"]] == [str(patient.external_id)]
    assert client.get(f"/api/v1/patients/{elsewhere.external_id}/", **auth).status_code == 404
    assert client.get(f"/api/v1/patients/{patient.external_id}/", **auth).status_code == 200
    # The read is audited as the system.
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW,
                                     actor=reader.system.account,
                                     patient_id=patient.external_id).exists()
    # Read-only: no lab typed in through /api/v1/, not even with labs.write.
    writer = register(centre, name="Riverside lab engine", scopes=("labs.write", "api.read"))
    write_auth = {"HTTP_AUTHORIZATION": f"Bearer {token(client, writer, 'labs.write api.read')}"}
    response = client.post(f"/api/v1/patients/{patient.external_id}/labs/", {
        "analyte": "platelets", "value": "200", "unit": "10^9/L",
        "collected_at": DRAWN.isoformat()}, content_type="application/json", **write_auth)
    assert response.status_code == 403
    assert not LabResult.objects.exists()


def test_a_system_of_another_centre_never_reaches_this_centres_patient(client, other_centre,
                                                                      patient):
    """The MRN is matched at the system's own centre: the same MRN elsewhere is unknown there,
    and the result waits in that centre's inbox, never on this centre's patient."""
    foreign = register(other_centre, name="Elsewhere lab engine")
    body = oru("FOREIGN-1", patient.mrn, [("X1", CBC_PANEL, CBC[:3])], collected=DRAWN)

    response = post_oru(client, token(client, foreign), body)

    assert ack_fields(response.content.decode())["code"] == ["AE"]
    assert not LabResult.objects.filter(patient=patient).exists()
    waiting = UnmatchedResult.objects.filter(centre=other_centre)
    assert {e.problem for e in waiting} == {"unknown_patient"} and waiting.count() == 2


def test_people_keep_their_sessions(client, navigator, patient):
    client.force_login(navigator)
    assert client.get("/api/v1/patients/").status_code == 200
    # A person is never a system principal, whatever is set on the object.
    assert not access.is_system(access.as_system(navigator, {"labs.write"}))


def test_register_system_command_prints_the_credentials_once(centre, capsys):
    call_command("register_system", "--centre", centre.name, "--name", "Lab engine 2",
                 "--scopes", "labs.write", "fhir.read")
    out = capsys.readouterr().out
    system = SystemClient.objects.get(name="Lab engine 2")
    assert system.application.client_id in out and "client_secret:" in out
    assert system.scope_set == {"labs.write", "fhir.read"}


def test_the_access_module_scopes_a_system_principal(centre, other_centre, patient, oncologist):
    elsewhere = PatientFactory(centre=other_centre, referring_oncologist=oncologist)
    account = register(centre, scopes=("labs.write", "api.read")).system.account
    reader = access.as_system(account, {"api.read"})
    assert list(access.visible_patients(reader)) == [patient]
    assert access.can_view_patient(reader, patient) and not access.can_view_patient(reader,
                                                                                      elsewhere)
    assert not access.can_change_patient(reader, patient)  # read-only without labs.write
    writer = access.as_system(account, {"labs.write"})
    assert access.can_change_patient(writer, patient)
    assert not access.can_change_patient(writer, elsewhere)
    assert not access.visible_patients(access.as_system(account, set())).exists()
    # The mark is never stored: the account read again sees nothing.
    assert not access.visible_patients(type(account).objects.get(pk=account.pk)).exists()
