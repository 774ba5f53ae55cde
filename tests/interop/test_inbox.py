"""The unmatched-results inbox: every kind of result that cannot be stored by itself waits
there (and the ACK says which), and the centre's navigators match it to a patient (the path of a
typed lab: readiness and the labs task follow) or reject it with a reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from coordinators.models import CareTask, TaskKind, TaskState
from interop.models import ReceivedResult, UnmatchedResult
from netcare.models import AuditEvent
from patients.models import LabResult
from prrt.models import CycleState
from tests.coordinators.conftest import C1
from tests.interop.hl7_builders import (
    CBC_PANEL,
    CBC_SI,
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
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db

DRAWN = dt.datetime(2025, 1, 3, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(dt.datetime(2025, 1, 4, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def bearer(client, centre, now):
    return token(client, register(centre))


def send(client, bearer, body, capture):
    with capture(execute=True):
        response = post_oru(client, bearer, body)
    return ack_fields(response.content.decode())


PROBLEM_CASES = [
    # (OBX as sent, problem, ACK error "code@segment+field")
    (Obx("99999-9", "Something else", "5", "mg/dL", "1-10"), "unknown_code", "103@OBX3"),
    (Obx("1920-8", "AST", ">1000", "U/L", "10-40", value_type="ST"), "not_a_number",
     "102@OBX5"),
    (Obx("777-3", "Platelets", "5000", "10*9/L", "150-400"), "implausible_value", "207@OBX5"),
    (Obx("718-7", "Hemoglobin", "12.8", "mg", "12-15.5"), "bad_unit", "103@OBX6"),
    (Obx("2160-0", "Creatinine", "0.9", "mg/dL", "normal"), "bad_range", "102@OBX7"),
    (Obx("1975-2", "Bilirubin.total", "0.6", "mg/dL", ""), "bad_range", "102@OBX7"),
    (Obx("751-8", "Neutrophils", "3.2", "10*9/L", "2-7.5", status="R"), "not_final",
     "103@OBX11"),
    (Obx("1751-7", "Albumin", "41", "g/L", "35-50", status="C"), "corrects_unknown",
     "204@OBX3"),
]


def test_every_result_that_cannot_be_stored_waits_in_the_inbox(
        client, patient, bearer, django_capture_on_commit_callbacks):
    items = [case[0] for case in PROBLEM_CASES]
    ack = send(client, bearer, oru("BAD-1", patient.mrn, [("B1", CHEM_PANEL, items)],
                                   collected=DRAWN), django_capture_on_commit_callbacks)

    assert ack["code"] == ["AE"]
    assert ack["errors"] == [case[2] for case in PROBLEM_CASES]
    entries = list(UnmatchedResult.objects.order_by("id"))
    assert [e.problem for e in entries] == [case[1] for case in PROBLEM_CASES]
    assert all(e.state == "waiting" and e.patient is None for e in entries)
    assert "5000" in entries[2].detail  # the rules' own words: the accepted range
    assert not LabResult.objects.exists()  # nothing is guessed

    no_time = oru("BAD-2", patient.mrn, [("B2", CBC_PANEL, CBC_SI[:1])], collected=None)
    assert send(client, bearer, no_time, django_capture_on_commit_callbacks)["errors"] == [
        "101@OBX14"]
    unknown = oru("BAD-3", "NC77-000001", [("B3", CBC_PANEL, CBC_SI[:2])], collected=DRAWN)
    assert send(client, bearer, unknown, django_capture_on_commit_callbacks)["errors"] == [
        "204@PID3", "204@PID3"]
    two_mrns = oru("BAD-4", patient.mrn, [("B4", CBC_PANEL, CBC_SI[:1])], collected=DRAWN,
                   extra_ids="XYZ1^^^RIVERSIDE^MR")
    assert send(client, bearer, two_mrns, django_capture_on_commit_callbacks)["errors"] == [
        "204@PID3"]
    assert {e.problem for e in UnmatchedResult.objects.filter(id__gt=entries[-1].id)} == {
        "no_time", "unknown_patient"}
    assert UnmatchedResult.objects.count() == len(PROBLEM_CASES) + 4
    assert ReceivedResult.objects.filter(status="unmatched").count() == len(PROBLEM_CASES) + 4
    assert not LabResult.objects.exists()


@pytest.fixture
def course(centre, oncologist, specialist, navigator, time_machine,
           django_capture_on_commit_callbacks):
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                               first_dose=C1)


@pytest.fixture
def waiting(client, course, bearer, django_capture_on_commit_callbacks):
    """A full pre-dose panel whose platelets came in a unit NETcare does not read."""
    items = [Obx("777-3", "Platelets", "210", "G/l", "150-400") if o.code == "777-3" else o
             for o in CBC_SI]
    ack = send(client, bearer, oru("PANEL-1", course.patient.mrn, [
        ("W1", CBC_PANEL, items), ("W2", CHEM_PANEL, CHEM_UMOL)], collected=DRAWN),
        django_capture_on_commit_callbacks)
    assert ack["code"] == ["AE"]
    return UnmatchedResult.objects.get(problem="bad_unit")


def test_a_navigator_matches_a_result_and_the_cycle_becomes_ready(
        client, course, navigator, waiting, django_capture_on_commit_callbacks):
    assert course.cycles.get(number=1).state == CycleState.PLANNED
    client.force_login(navigator)
    listing = client.get("/interop/inbox/")
    assert listing.status_code == 200
    assert str(waiting.external_id) in listing.content.decode()
    page = client.get(f"/interop/inbox/{waiting.external_id}/")
    assert page.status_code == 200
    assert AuditEvent.objects.filter(action="view", actor=navigator,
                                     object_id=str(waiting.external_id)).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/interop/inbox/{waiting.external_id}/match/", {
            "mrn": course.patient.mrn, "analyte": "platelets", "value": "210",
            "unit": "10^9/L", "lln": "150", "uln": "400", "collected_at": "2025-01-03T08:00",
            "note": "G/l confirmed as 10^9/L with the laboratory."})

    assert response.status_code == 302
    waiting.refresh_from_db()
    assert (waiting.state, waiting.patient, waiting.resolved_by) == (
        "matched", course.patient, navigator)
    lab = waiting.lab_result
    assert (lab.analyte, lab.value, lab.unit, lab.entered_by) == (
        "platelets", Decimal("210"), "10^9/L", navigator)
    assert lab.collected_at == DRAWN  # read in the centre's zone (UTC here)
    assert waiting.received.lab_result == lab
    assert course.cycles.get(number=1).state == CycleState.READY
    task = CareTask.objects.get(course=course, kind=TaskKind.PRE_DOSE_LABS, cycle=1,
                                sequence=1)
    assert task.state == TaskState.DONE
    assert AuditEvent.objects.filter(action="update", actor=navigator,
                                     object_id=str(waiting.external_id)).exists()
    # Matched once: a second try is refused, nothing added.
    again = client.post(f"/interop/inbox/{waiting.external_id}/match/", {
        "mrn": course.patient.mrn, "analyte": "platelets", "value": "210", "unit": "10^9/L",
        "collected_at": "2025-01-03T08:00"})
    assert again.status_code == 400
    assert LabResult.objects.filter(analyte="platelets").count() == 1


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"mrn": "NC00-NOBODY"}, "mrn", "No patient with MRN"),
    ({"value": "5000"}, "value", "not plausible"),
    ({"unit": "G/L"}, "unit", "unknown unit"),
])
def test_a_match_that_does_not_hold_names_the_field(client, course, navigator, waiting,
                                                     change, field, words):
    client.force_login(navigator)
    data = {"mrn": course.patient.mrn, "analyte": "platelets", "value": "210",
            "unit": "10^9/L", "collected_at": "2025-01-03T08:00", **change}
    response = client.post(f"/interop/inbox/{waiting.external_id}/match/", data)
    assert response.status_code == 400
    assert words.lower() in str(response.context["match_form"].errors[field]).lower()
    waiting.refresh_from_db()
    assert waiting.state == "waiting"
    assert not LabResult.objects.filter(analyte="platelets").exists()


def test_a_navigator_rejects_a_result_with_a_reason(client, navigator, waiting):
    client.force_login(navigator)
    url = f"/interop/inbox/{waiting.external_id}/reject/"
    assert client.post(url, {"reason": "  "}).status_code == 400
    response = client.post(url, {"reason": "Duplicate of the sample sent on paper."})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert (waiting.state, waiting.reason, waiting.resolved_by) == (
        "rejected", "Duplicate of the sample sent on paper.", navigator)
    listing = client.get("/interop/inbox/").content.decode()
    assert "Duplicate of the sample sent on paper." in listing  # kept, in the history


@pytest.mark.parametrize(("persona", "list_status", "entry_status"), [
    ("outside_navigator", 200, 404),
    ("specialist", 403, 403),
    ("oncologist", 403, 403),
])
def test_only_the_centres_navigators_work_its_inbox(client, request, waiting, persona,
                                                    list_status, entry_status):
    client.force_login(request.getfixturevalue(persona))
    listing = client.get("/interop/inbox/")
    assert listing.status_code == list_status
    if list_status == 200:
        assert str(waiting.external_id) not in listing.content.decode()
    assert client.get(f"/interop/inbox/{waiting.external_id}/").status_code == entry_status
    response = client.post(f"/interop/inbox/{waiting.external_id}/reject/",
                           {"reason": "not mine"})
    assert response.status_code == entry_status
    waiting.refresh_from_db()
    assert waiting.state == "waiting"


def test_the_navigators_menu_links_the_inbox(client, navigator):
    client.force_login(navigator)
    assert 'href="/interop/inbox/"' in client.get("/navigator/").content.decode()


def test_the_inbox_page_costs_the_same_queries_however_many_results_wait(
        client, patient, navigator, bearer, django_capture_on_commit_callbacks):
    client.force_login(navigator)
    sent = iter(range(100))

    def grow():
        number = next(sent)
        items = [case[0] for case in PROBLEM_CASES]
        send(client, bearer, oru(f"GROW-{number}", patient.mrn, [(f"G{number}", CHEM_PANEL,
                                                                  items)], collected=DRAWN),
             django_capture_on_commit_callbacks)
        entry = UnmatchedResult.objects.filter(state="waiting").first()
        client.post(f"/interop/inbox/{entry.external_id}/reject/", {"reason": "test"})

    grow()
    response = assert_constant_queries(lambda: client.get("/interop/inbox/"), grow=grow)
    assert response.status_code == 200
    assert response.content.decode().count("Review<span") == 2 * len(PROBLEM_CASES) - 2
