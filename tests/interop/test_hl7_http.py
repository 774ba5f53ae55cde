"""HL7 v2 ORU^R01 over HTTP: real messages in, ACKs out, results stored through the typed labs'
path (readiness, task fulfilment), duplicates and corrections, refusals answered AR."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from coordinators.models import CareTask, TaskKind, TaskState
from interop.models import InboundMessage, ReceivedResult, UnmatchedResult
from netcare.models import AuditEvent
from patients.models import LabResult
from prrt.models import CycleState
from tests.coordinators.conftest import C1
from tests.interop.hl7_builders import (
    CBC,
    CBC_PANEL,
    CBC_SI,
    CHEM_MG_DL,
    CHEM_PANEL,
    CHEM_UMOL,
    Obx,
    ack_fields,
    oru,
    post_oru,
    register,
    token,
)
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.django_db

DRAWN = dt.datetime(2025, 1, 3, 8, 0, tzinfo=dt.UTC)  # C1 - 3 days, 08:00


@pytest.fixture
def now(time_machine):
    time_machine.move_to(dt.datetime(2025, 1, 4, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def course(centre, oncologist, specialist, navigator, time_machine,
           django_capture_on_commit_callbacks):
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                               first_dose=C1)


@pytest.fixture
def system(centre):
    return register(centre)


@pytest.fixture
def bearer(client, system, now):
    return token(client, system)


def send(client, bearer, body, capture):
    with capture(execute=True):
        response = post_oru(client, bearer, body)
    return response, ack_fields(response.content.decode())


def test_a_cbc_and_chemistry_panel_in_mg_dl_is_stored_and_the_cycle_becomes_ready(
        client, course, system, bearer, now, django_capture_on_commit_callbacks):
    patient = course.patient
    labs_task = CareTask.objects.get(course=course, kind=TaskKind.PRE_DOSE_LABS, cycle=1,
                                     sequence=1)
    assert labs_task.state == TaskState.OPEN
    assert course.cycles.get(number=1).state == CycleState.PLANNED
    body = oru("MSG-0001", patient.mrn, [("F1001", CBC_PANEL, CBC), ("F1002", CHEM_PANEL,
                                                                       CHEM_MG_DL)],
               collected=DRAWN)

    response, ack = send(client, bearer, body, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/hl7-v2")
    assert (ack["code"], ack["control"], ack["errors"]) == (["AA"], ["MSG-0001"], [])
    stored = {lab.analyte: lab for lab in LabResult.objects.filter(patient=patient,
                                                                  collected_at=DRAWN)}
    assert sorted(stored) == ["albumin", "alt", "ast", "bilirubin", "creatinine", "hemoglobin",
                              "lymphocytes", "neutrophils", "platelets", "white_cells"]
    platelets = stored["platelets"]
    assert (platelets.value, platelets.unit, platelets.lln, platelets.uln) == (
        Decimal("210"), "10^9/L", Decimal("150"), Decimal("400"))
    assert (stored["creatinine"].value, stored["creatinine"].unit, stored["creatinine"].uln) == (
        Decimal("0.9"), "mg/dL", Decimal("1.2"))
    assert (stored["hemoglobin"].unit, stored["albumin"].unit) == ("g/dL", "g/dL")
    assert stored["bilirubin"].uln == Decimal("1.2")
    # Stored as the system: its service account, never a person.
    assert {lab.entered_by_id for lab in stored.values()} == {system.system.account_id}
    message = InboundMessage.objects.get(control_id="MSG-0001")
    assert message.body == body
    assert (message.outcome, message.ack_code) == (InboundMessage.Outcome.ACCEPTED, "AA")
    assert message.summary["stored"] == 10 and message.summary["not_used"] == 8
    assert ReceivedResult.objects.filter(message=message).count() == 18
    assert AuditEvent.objects.filter(object_type="interop.InboundMessage",
                                     object_id=str(message.external_id),
                                     actor=system.system.account).exists()
    assert AuditEvent.objects.filter(object_type="patients.LabResult",
                                     actor=system.system.account).count() == 10
    # The same path as typed labs: readiness and task fulfilment followed.
    assert course.cycles.get(number=1).state == CycleState.READY
    labs_task.refresh_from_db()
    assert labs_task.state == TaskState.DONE
    assert labs_task.fulfilled_by.startswith("patients.LabResult:")


def test_a_panel_in_si_units_with_thousands_per_microlitre(client, course, bearer, now,
                                                          django_capture_on_commit_callbacks):
    patient = course.patient
    body = oru("MSG-0002", patient.mrn, [("F2001", CBC_PANEL, CBC_SI), ("F2002", CHEM_PANEL,
                                                                          CHEM_UMOL)],
               collected=DRAWN)

    response, ack = send(client, bearer, body, django_capture_on_commit_callbacks)

    assert ack["code"] == ["AA"], ack
    stored = {lab.analyte: lab for lab in LabResult.objects.filter(patient=patient)}
    # 10*3/uL is 10^9/L: the same number in the rules' unit.
    assert (stored["platelets"].value, stored["platelets"].unit) == (Decimal("210"), "10^9/L")
    assert (stored["creatinine"].value, stored["creatinine"].unit,
            stored["creatinine"].lln, stored["creatinine"].uln) == (
        Decimal("80"), "umol/L", Decimal("45"), Decimal("90"))
    assert (stored["bilirubin"].unit, stored["bilirubin"].uln) == ("umol/L", Decimal("21"))
    assert (stored["hemoglobin"].value, stored["hemoglobin"].unit) == (Decimal("128"), "g/L")
    assert course.cycles.get(number=1).state == CycleState.READY


def test_lf_line_endings_and_v2_3_are_read(client, patient, bearer, now,
                                           django_capture_on_commit_callbacks):
    body = oru("MSG-0003", patient.mrn, [("F3001", CBC_PANEL, CBC_SI[:3])], collected=DRAWN,
               version="2.3", segment_end="\n")
    response, ack = send(client, bearer, body, django_capture_on_commit_callbacks)
    assert ack["code"] == ["AA"]
    assert LabResult.objects.filter(patient=patient).count() == 3


def test_a_duplicate_message_changes_nothing(client, patient, bearer, now,
                                             django_capture_on_commit_callbacks):
    body = oru("MSG-0100", patient.mrn, [("F4001", CBC_PANEL, CBC)], collected=DRAWN)
    send(client, bearer, body, django_capture_on_commit_callbacks)
    counts = (LabResult.objects.count(), InboundMessage.objects.count(),
              ReceivedResult.objects.count(), AuditEvent.objects.count())

    response, ack = send(client, bearer, body, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert ack["code"] == ["AA"] and "Duplicate" in ack["text"][0]
    assert (LabResult.objects.count(), InboundMessage.objects.count(),
            ReceivedResult.objects.count(), AuditEvent.objects.count()) == counts


def test_the_same_results_resent_under_a_new_control_id_are_stored_once(
        client, patient, bearer, now, django_capture_on_commit_callbacks):
    first = oru("MSG-0200", patient.mrn, [("F5001", CBC_PANEL, CBC)], collected=DRAWN)
    send(client, bearer, first, django_capture_on_commit_callbacks)
    labs = LabResult.objects.count()

    again = oru("MSG-0201", patient.mrn, [("F5001", CBC_PANEL, CBC)], collected=DRAWN)
    response, ack = send(client, bearer, again, django_capture_on_commit_callbacks)

    assert ack["code"] == ["AA"]
    assert LabResult.objects.count() == labs == 5
    resent = InboundMessage.objects.get(control_id="MSG-0201")
    assert resent.body == again  # the resend itself is kept raw
    assert resent.summary["duplicates"] == len(CBC)
    assert not resent.results.exists()


def test_a_correction_marks_the_earlier_result_in_error_and_a_preliminary_is_not_used(
        client, patient, bearer, now, django_capture_on_commit_callbacks):
    preliminary = oru("MSG-0300", patient.mrn, [("F6001", CBC_PANEL, [
        Obx("777-3", "Platelets", "190", "10*9/L", "150-400", status="P")])], collected=DRAWN)
    response, ack = send(client, bearer, preliminary, django_capture_on_commit_callbacks)
    assert ack["code"] == ["AA"]
    assert not LabResult.objects.filter(patient=patient).exists()
    assert ReceivedResult.objects.get(message__control_id="MSG-0300").status == "preliminary"

    final = oru("MSG-0301", patient.mrn, [("F6001", CBC_PANEL, [
        Obx("777-3", "Platelets", "200", "10*9/L", "150-400")])], collected=DRAWN)
    send(client, bearer, final, django_capture_on_commit_callbacks)
    corrected = oru("MSG-0302", patient.mrn, [("F6001", CBC_PANEL, [
        Obx("777-3", "Platelets", "120", "10*9/L", "150-400", status="C")])], collected=DRAWN)
    response, ack = send(client, bearer, corrected, django_capture_on_commit_callbacks)

    assert ack["code"] == ["AA"]
    earlier, latest = LabResult.objects.filter(patient=patient).order_by("id")
    assert (earlier.value, earlier.entered_in_error) == (Decimal("200"), True)
    assert "MSG-0302" in earlier.error_reason
    assert (latest.value, latest.entered_in_error) == (Decimal("120"), False)


@pytest.mark.parametrize(("body", "code"), [
    ("this is not an HL7 message", "100"),
    (oru("MSG-ADT", "NC01-000001", [("F1", CBC_PANEL, CBC[:1])], collected=DRAWN,
         kind="ADT^A01^ADT_A01"), "200"),
    (oru("MSG-V26", "NC01-000001", [("F1", CBC_PANEL, CBC[:1])], collected=DRAWN,
         version="2.6"), "203"),
    (oru("", "NC01-000001", [("F1", CBC_PANEL, CBC[:1])], collected=DRAWN), "101"),
    (oru("MSG-NOOBX", "NC01-000001", [], collected=DRAWN), "101"),
], ids=["not-er7", "not-oru", "version-2.6", "no-control-id", "no-obx"])
def test_a_message_that_cannot_be_taken_in_is_refused_ar_and_kept_raw(client, bearer, now,
                                                                       body, code):
    response = post_oru(client, bearer, body)

    assert response.status_code == 400
    ack = ack_fields(response.content.decode())
    assert ack["code"] == ["AR"]
    assert ack["errors"][0].startswith(code + "@")
    message = InboundMessage.objects.get()
    assert (message.body.strip(), message.outcome) == (body.strip().replace("\n", "\r"),
                                                       InboundMessage.Outcome.REJECTED)
    assert not LabResult.objects.exists() and not UnmatchedResult.objects.exists()


def test_a_body_that_is_not_hl7_media_type_is_refused(client, bearer):
    response = client.post("/api/v1/hl7/oru", data={"a": "b"}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert response.status_code == 415
    assert not InboundMessage.objects.exists()


def test_the_openapi_schema_documents_the_hl7_endpoint(admin_client):
    response = admin_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/hl7/oru"]["post"]
    assert "application/hl7-v2" in operation["requestBody"]["content"]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    assert {"systemOAuth2": ["labs.write"]} in operation["security"]
    flows = schema["components"]["securitySchemes"]["systemOAuth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/o/token/"
