"""The care-task API (`/api/v1/care-tasks/`): scoped lists and reads, their filters, the verbs as
POST actions with their refusals (400 naming the field, 403, 404, 409), audited reads, a
constant number of queries, and the appointment verb itself."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone

from coordinators import services
from coordinators.models import CareTask, CareTaskEvent, OwnerParty, TaskKind, TaskState
from coordinators.plan import plan_sync
from netcare import events
from netcare.models import AuditEvent
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from prrt.models import TreatmentCourse
from referrals.models import ReferralState
from tests.apiclient import API, assert_uuid_references, client_for, results
from tests.factories import PatientFactory, ReferralFactory, UserFactory
from tests.prrt.builders import approved_course
from tests.querycount import assert_constant_queries, assert_queries

pytestmark = pytest.mark.django_db

D = dt.date
C1 = D(2025, 1, 6)
TODAY = D(2024, 12, 17)  # the `course` fixture's frozen day (09:00 in London)
URL = f"{API}/care-tasks/"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def planned(course):
    """The course with its plan materialised as care tasks."""
    plan_sync(course=course, today=TODAY)
    return course


def task_of(course, kind: str, cycle: int = 0, sequence: int = 1) -> CareTask:
    return CareTask.objects.get(course=course, kind=kind, cycle=cycle, sequence=sequence)


@pytest.fixture
def labs(planned) -> CareTask:
    """An open task the referring practice owns: the pre-dose labs of cycle 1."""
    return task_of(planned, TaskKind.PRE_DOSE_LABS, 1)


def listed(client, **params) -> list[dict]:
    response = client.get(URL, {"limit": 200, **params})
    assert response.status_code == 200, response.content
    return results(response)


def ids(rows) -> set[str]:
    return {row["id"] for row in rows}


def uuids(tasks) -> set[str]:
    return {str(task.external_id) for task in tasks}


def set_state(task: CareTask, state: str) -> None:
    fields = {"state": state}
    if state == TaskState.DONE:
        fields["done_at"] = timezone.now()
    if state in (TaskState.SKIPPED, TaskState.CANCELLED):
        fields["reason"] = "Set up by the test."
    CareTask.objects.filter(pk=task.pk).update(**fields)


# --- scope and shape ------------------------------------------------------------------------


def test_lists_are_scoped_to_the_patients_one_may_see(planned, centre, oncologist, oncologist2,
                                                      specialist, navigator, outside_navigator,
                                                      administrator):
    other = approved_course(centre=centre, oncologist=oncologist2, specialist=specialist,
                            first_dose=C1)
    plan_sync(course=other, today=TODAY)
    mine = set(CareTask.objects.filter(course=planned))
    theirs = set(CareTask.objects.filter(course=other))
    assert mine and theirs

    assert ids(listed(client_for(navigator))) == uuids(mine | theirs)
    assert ids(listed(client_for(specialist))) == uuids(mine | theirs)
    assert ids(listed(client_for(oncologist))) == uuids(mine)
    assert ids(listed(client_for(oncologist2))) == uuids(theirs)
    assert listed(client_for(outside_navigator)) == []
    assert listed(client_for(administrator)) == []


def test_a_task_reads_with_its_references_as_uuids(labs, navigator):
    response = client_for(navigator).get(f"{URL}{labs.external_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": str(labs.external_id), "kind": "pre_dose_labs", "title": "Pre-dose labs (cycle 1)",
        "patient": str(labs.patient.external_id), "course": str(labs.course.external_id),
        "cycle": 1, "sequence": 1, "earliest": "2024-12-23", "due": "2024-12-30",
        "latest": "2025-01-06", "state": "open", "owner": {"party": "practice", "user": None},
        "appointment": None, "snoozed_until": None, "done_at": None, "done_by": None,
        "fulfilled_by": "", "value": "", "reason": "",
    }
    assert_uuid_references(body)
    assert_uuid_references(listed(client_for(navigator)))


def test_a_named_owner_and_who_did_it_are_people(labs, navigator, specialist):
    services.task_reassign(actor=navigator, task=labs, owner_user=specialist, reason="Covering.")
    services.task_complete(actor=specialist, task=labs, done_at=utc(2024, 12, 17, 8, 0),
                           value="Drawn at the centre.")
    body = client_for(navigator).get(f"{URL}{labs.external_id}/").json()
    specialist_ref = {"id": str(specialist.external_id), "name": str(specialist),
                      "role": "specialist"}
    assert body["owner"] == {"party": "user", "user": specialist_ref}
    assert body["done_by"] == specialist_ref
    assert (body["state"], body["done_at"], body["value"]) == (
        "done", "2024-12-17T08:00:00Z", "Drawn at the centre.")


def test_a_task_closed_by_netcare_has_no_person_as_doer(labs, navigator):
    services.task_fulfil(task=labs, done_at=utc(2024, 12, 16, 9, 0), value="Labs on record.",
                         reason="The record shows it.")
    CareTask.objects.filter(pk=labs.pk).update(fulfilled_by="patients.LabResult:1")
    body = client_for(navigator).get(f"{URL}{labs.external_id}/").json()
    assert (body["state"], body["done_by"], body["fulfilled_by"]) == (
        "done", None, "patients.LabResult:1")


@pytest.mark.parametrize("persona", ["outside_navigator", "outside_specialist", "oncologist2",
                                     "administrator"])
def test_a_task_outside_ones_scope_is_404(request, labs, persona):
    response = client_for(request.getfixturevalue(persona)).get(f"{URL}{labs.external_id}/")
    assert response.status_code == 404


def test_unknown_task_is_404(planned, navigator):
    assert client_for(navigator).get(f"{URL}{uuid.uuid4()}/").status_code == 404


def test_anonymous_is_refused(planned):
    assert client_for(None).get(URL).status_code == 403


# --- audited reads --------------------------------------------------------------------------


def views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).order_by("id"))


def test_reading_a_task_is_audited(labs, oncologist, outside_navigator):
    client_for(outside_navigator).get(f"{URL}{labs.external_id}/")
    assert views() == []
    client_for(oncologist).get(f"{URL}{labs.external_id}/", REMOTE_ADDR="10.0.0.7")
    [row] = views()
    assert (row.actor, row.object_type, row.object_id, row.patient_id, row.ip_address) == (
        oncologist, "coordinators.CareTask", str(labs.external_id), labs.patient.external_id,
        "10.0.0.7")


def test_listing_one_patients_tasks_is_audited_as_a_view_of_the_record(labs, navigator,
                                                                       outside_navigator):
    patient = labs.patient
    assert listed(client_for(outside_navigator), patient=patient.external_id) == []
    assert views() == []  # nothing was read
    rows = listed(client_for(navigator), patient=patient.external_id)
    assert len(rows) == CareTask.objects.filter(patient=patient).count()
    [row] = views()
    assert (row.actor, row.object_type, row.patient_id) == (
        navigator, "patients.Patient", patient.external_id)


# --- filters --------------------------------------------------------------------------------


def test_filter_by_patient(planned, centre, oncologist, specialist, navigator):
    other = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                            first_dose=C1)
    plan_sync(course=other, today=TODAY)
    rows = listed(client_for(navigator), patient=other.patient.external_id)
    assert ids(rows) == uuids(CareTask.objects.filter(course=other))
    assert {row["patient"] for row in rows} == {str(other.patient.external_id)}


def test_filter_by_state_and_kind(planned, navigator):
    client = client_for(navigator)
    done = listed(client, state="done")
    assert ids(done) == uuids(CareTask.objects.filter(course=planned, state=TaskState.DONE))
    assert {row["kind"] for row in done} == {"ssa_washout_check"}
    labs = listed(client, kind="pre_dose_labs")
    assert [(row["kind"], row["cycle"]) for row in labs] == [
        ("pre_dose_labs", n) for n in (1, 2, 3, 4)]
    assert listed(client, kind="pre_dose_labs", state="done") == []


def test_filter_by_owner(labs, navigator, specialist):
    planned = labs.course
    infusion = task_of(planned, TaskKind.INFUSION, 1)
    services.task_reassign(actor=navigator, task=labs, owner_user=navigator, reason="Mine.")
    services.task_reassign(actor=navigator, task=infusion, owner_user=specialist, reason="Yours.")
    client = client_for(navigator)
    assert ids(listed(client, owner="me")) == uuids([labs])
    assert ids(listed(client, owner=str(specialist.external_id))) == uuids([infusion])
    assert ids(listed(client_for(specialist), owner="me")) == uuids([infusion])
    assert ids(listed(client, owner="practice")) == uuids(
        CareTask.objects.filter(course=planned, owner_party=OwnerParty.PRACTICE))
    centre_rows = listed(client, owner="centre")
    assert {row["owner"]["party"] for row in centre_rows} == {"centre"}
    assert len(centre_rows) == CareTask.objects.filter(
        course=planned, owner_party=OwnerParty.CENTRE).count()


def test_filter_overdue_by_the_centres_today(planned, time_machine, navigator):
    # 12:00 UTC on 8 January: the 8th in London, where the course is treated.
    time_machine.move_to(utc(2025, 1, 8, 12, 0), tick=False)
    done = task_of(planned, TaskKind.LAR_INJECTION, 1)
    set_state(done, TaskState.DONE)
    client = client_for(navigator)
    overdue = listed(client, overdue="true")
    assert [(row["kind"], row["cycle"]) for row in overdue] == [
        ("pre_dose_labs", 1), ("infusion", 1), ("radiation_safety_education", 1)]
    assert {row["state"] for row in overdue} == {"open"}
    others = listed(client, overdue="false")
    assert ids(others) == uuids(CareTask.objects.filter(course=planned)) - ids(overdue)
    assert ids(listed(client, overdue="true", kind="infusion")) == uuids(
        [task_of(planned, TaskKind.INFUSION, 1)])


def test_overdue_follows_each_courses_centre(planned, time_machine, other_centre, oncologist,
                                            outside_specialist):
    """A referring oncologist's patients may be treated at centres in different time zones:
    each task is overdue by its own centre's day."""
    other_centre.time_zone = "Pacific/Kiritimati"  # UTC+14: already the 9th at 12:00 UTC
    other_centre.save()
    far = approved_course(centre=other_centre, oncologist=oncologist,
                          specialist=outside_specialist, first_dose=C1)
    plan_sync(course=far, today=TODAY)
    time_machine.move_to(utc(2025, 1, 8, 12, 0), tick=False)
    overdue = listed(client_for(oncologist), overdue="true")
    near = [(row["kind"], row["cycle"]) for row in overdue
            if row["course"] == str(planned.external_id)]
    away = [(row["kind"], row["cycle"]) for row in overdue
            if row["course"] == str(far.external_id)]
    assert ("radiation_safety_checkin", 1) not in near  # due on the 8th: today in London
    assert ("radiation_safety_checkin", 1) in away  # yesterday at the far centre
    assert len(away) == len(near) + 1


@pytest.mark.parametrize(("params", "field"), [
    ({"state": "finished"}, "state"), ({"kind": "bloods"}, "kind"),
    ({"owner": "someone"}, "owner"), ({"patient": "12"}, "patient"),
    ({"overdue": "perhaps"}, "overdue"),
])
def test_bad_filters_are_400_naming_the_parameter(planned, navigator, params, field):
    response = client_for(navigator).get(URL, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


# --- actions --------------------------------------------------------------------------------


def act(user, task: CareTask, name: str, body: dict | None = None):
    return client_for(user).post(f"{URL}{task.external_id}/{name}/", body or {}, format="json")


def test_done(labs, navigator):
    response = act(navigator, labs, "done", {"done_at": "2024-12-17T08:30:00+00:00",
                                             "value": "Platelets 210"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["done_at"], body["value"], body["done_by"]["id"]) == (
        "done", "2024-12-17T08:30:00Z", "Platelets 210", str(navigator.external_id))
    event = CareTaskEvent.objects.get(task=labs)
    assert (event.transition, event.actor, event.target) == ("complete", navigator, "done")


def test_done_without_a_time_is_now(labs, oncologist):
    response = act(oncologist, labs, "done")
    assert response.status_code == 200, response.content
    assert response.json()["done_at"] == "2024-12-17T09:00:00Z"


def test_skip(labs, navigator):
    response = act(navigator, labs, "skip", {"reason": "Drawn at the practice last week."})
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["reason"]) == (
        "skipped", "Drawn at the practice last week.")


def test_snooze(labs, navigator):
    response = act(navigator, labs, "snooze", {"until": "2024-12-20", "reason": "Travelling."})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["snoozed_until"], body["reason"], body["due"]) == (
        "open", "2024-12-20", "Travelling.", "2024-12-30")


def test_reassign_to_a_user_and_back_to_a_party(labs, navigator, specialist):
    response = act(navigator, labs, "reassign", {"owner_user": str(specialist.external_id),
                                                 "reason": "Covering the clinic."})
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["party"] == "user"
    assert response.json()["owner"]["user"]["id"] == str(specialist.external_id)
    response = act(navigator, labs, "reassign", {"owner_party": "centre"})
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == {"party": "centre", "user": None}
    assert list(CareTaskEvent.objects.filter(task=labs).values_list("transition", flat=True)) == [
        "reassign", "reassign"]


def test_appointment_booked_and_cleared(labs, navigator):
    response = act(navigator, labs, "appointment", {
        "at": "2024-12-28T09:30:00+00:00", "place": "Hillview phlebotomy",
        "note": "No fasting needed."})
    assert response.status_code == 200, response.content
    assert response.json()["appointment"] == {
        "at": "2024-12-28T09:30:00Z", "place": "Hillview phlebotomy",
        "note": "No fasting needed."}
    assert response.json()["state"] == "open"
    response = act(navigator, labs, "appointment", {"at": None})
    assert response.status_code == 200, response.content
    assert response.json()["appointment"] is None
    labs.refresh_from_db()
    assert (labs.appointment_at, labs.appointment_place, labs.appointment_note) == (None, "", "")


SPECIALIST = object()  # stands for the specialist's id in a body
OUTSIDER = object()  # stands for the outside navigator's id


@pytest.mark.parametrize(("name", "body", "field"), [
    ("done", {"done_at": "2024-12-17T08:30:00"}, "done_at"),  # no time zone
    ("done", {"done_at": "2024-12-18T08:30:00+00:00"}, "done_at"),  # in the future
    ("done", {"done_at": "yesterday"}, "done_at"),
    ("skip", {}, "reason"),
    ("skip", {"reason": "   "}, "reason"),
    ("snooze", {"reason": "Travelling."}, "until"),
    ("snooze", {"until": "2024-12-17", "reason": "Travelling."}, "until"),  # not a later day
    ("snooze", {"until": "2024-12-20"}, "reason"),
    ("reassign", {}, "owner_party"),
    ("reassign", {"owner_party": "user"}, "owner_party"),
    ("reassign", {"owner_party": "centre", "owner_user": SPECIALIST}, "owner_user"),
    ("reassign", {"owner_user": "not-a-uuid"}, "owner_user"),
    ("reassign", {"owner_user": "8d6f0e8e-0000-4000-8000-000000000000"}, "owner_user"),
    ("reassign", {"owner_user": OUTSIDER}, "owner_user"),  # cannot see the patient
    ("appointment", {}, "at"),
    ("appointment", {"at": "2024-12-28T09:30:00"}, "at"),  # no time zone
    ("appointment", {"at": "2024-12-28T09:30:00Z", "place": "x" * 121}, "place"),
    ("appointment", {"at": "2024-12-28T09:30:00Z", "note": "x" * 256}, "note"),
])
def test_bad_input_is_400_naming_the_field(labs, navigator, specialist, outside_navigator,
                                           name, body, field):
    stand_ins = {id(SPECIALIST): str(specialist.external_id),
                 id(OUTSIDER): str(outside_navigator.external_id)}
    body = {key: stand_ins.get(id(value), value) for key, value in body.items()}
    before = CareTask.objects.filter(pk=labs.pk).values().get()
    response = act(navigator, labs, name, body)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field], errors
    assert isinstance(errors[field], list) and errors[field][0]
    assert CareTask.objects.filter(pk=labs.pk).values().get() == before
    assert not CareTaskEvent.objects.filter(task=labs).exists()


VALID = {
    "done": {"done_at": "2024-12-17T08:30:00+00:00"},
    "skip": {"reason": "Not needed."},
    "snooze": {"until": "2024-12-20", "reason": "Travelling."},
    "reassign": {"owner_party": "centre"},
    "appointment": {"at": "2024-12-28T09:30:00Z"},
}


@pytest.mark.parametrize("name", list(VALID))
@pytest.mark.parametrize("state", [TaskState.DONE, TaskState.SKIPPED, TaskState.CANCELLED])
def test_a_closed_task_is_409(labs, navigator, name, state):
    set_state(labs, state)
    for body in (VALID[name], {}):  # the state is checked before the body
        response = act(navigator, labs, name, body)
        assert response.status_code == 409, response.content
        assert response.json()["detail"]
    labs.refresh_from_db()
    assert labs.state == state
    assert not CareTaskEvent.objects.filter(task=labs).exists()


@pytest.mark.parametrize("name", list(VALID))
@pytest.mark.parametrize("persona", ["outside_navigator", "oncologist2", "administrator"])
def test_acting_outside_ones_scope_is_404(request, labs, name, persona):
    response = act(request.getfixturevalue(persona), labs, name, VALID[name])
    assert response.status_code == 404
    assert CareTask.objects.get(pk=labs.pk).state == TaskState.OPEN
    assert not CareTaskEvent.objects.filter(task=labs).exists()


@pytest.mark.parametrize("name", list(VALID))
def test_acting_anonymously_is_403(labs, name):
    assert act(None, labs, name, VALID[name]).status_code == 403


@pytest.mark.parametrize("name", list(VALID))
def test_who_may_see_but_not_change_the_patient_gets_403(labs, navigator, monkeypatch, name):
    """Changing a task is for whoever may change its patient (netcare.access decides); a user
    who may only see it is refused with a 403, before the body is read."""
    monkeypatch.setattr("coordinators.models.can_change_patient", lambda user, patient: False)
    monkeypatch.setattr("coordinators.services.can_change_patient", lambda user, patient: False)
    for body in (VALID[name], {}):
        response = act(navigator, labs, name, body)
        assert response.status_code == 403, response.content
        assert response.json()["detail"]
    assert not CareTaskEvent.objects.filter(task=labs).exists()


def test_the_referring_oncologist_acts_on_their_patients_tasks(labs, oncologist):
    response = act(oncologist, labs, "appointment", {"at": "2024-12-28T09:30:00Z",
                                                     "place": "Hillview Oncology Practice"})
    assert response.status_code == 200, response.content
    response = act(oncologist, labs, "done", {"value": "Platelets 210"})
    assert response.status_code == 200, response.content
    assert response.json()["done_by"]["role"] == "referring_oncologist"


# --- a constant number of queries -----------------------------------------------------------


def add_tasks(centre, oncologist, people, count: int) -> None:
    """`count` tasks, each of its own patient and course, owned and done by various people."""
    for index in range(count):
        patient = PatientFactory(centre=centre, referring_oncologist=oncologist)
        referral = ReferralFactory(patient=patient, state=ReferralState.IN_TREATMENT)
        course = TreatmentCourse.objects.create(patient=patient, referral=referral,
                                                centre=centre, planned_first_dose=C1,
                                                state="active")
        person = people[index % len(people)]
        done = index % 3 == 0
        CareTask.objects.create(
            course=course, patient=patient, kind=TaskKind.PRE_DOSE_LABS, cycle=1,
            owner_party=OwnerParty.USER if index % 2 else OwnerParty.PRACTICE,
            owner_user=person if index % 2 else None,
            earliest=TODAY - dt.timedelta(days=10), due=TODAY - dt.timedelta(days=index % 5),
            latest=TODAY + dt.timedelta(days=10),
            state=TaskState.DONE if done else TaskState.OPEN,
            done_at=timezone.now() if done else None, done_by=person if done else None,
            appointment_at=timezone.now() if index % 4 == 1 else None)


# 1) COUNT for the page, 2) the page with patient, course, owner and doer joined in;
# `overdue` adds the centres (their today), `patient` the patient and the audit row; every list
# adds the audit row of the list and the patients it names.
@pytest.mark.parametrize("persona", ["navigator", "specialist", "oncologist"])
@pytest.mark.parametrize(("params", "queries"), [
    ({}, 4), ({"owner": "practice", "state": "open"}, 4), ({"overdue": "true"}, 5),
    ({"overdue": "false", "kind": "pre_dose_labs"}, 5),
])
def test_lists_run_a_fixed_number_of_queries(request, centre, oncologist, navigator,
                                             specialist, persona, params, queries):
    people = [navigator, specialist, UserFactory(role="navigator", centre=centre)]
    client = client_for(request.getfixturevalue(persona))
    add_tasks(centre, oncologist, people, 3)
    with assert_queries(queries):
        rows = listed(client, **params)
    assert rows
    first = len(rows)

    def run():
        return listed(client, **params)

    rows = assert_constant_queries(run, grow=lambda: add_tasks(centre, oncologist, people, 27))
    assert len(rows) > first


def test_one_patients_list_runs_a_fixed_number_of_queries(labs, navigator, specialist):
    """1) the patient, through access, 2) the audit row, 3) COUNT, 4) the page."""
    patient, course = labs.patient, labs.course
    client = client_for(navigator)
    CareTask.objects.filter(course=course).exclude(pk=labs.pk).delete()
    extra = [CareTask(course=course, patient=patient, kind=TaskKind.IMAGING, sequence=sequence,
                      owner_party=OwnerParty.USER, owner_user=specialist, earliest=TODAY,
                      due=TODAY, latest=TODAY, state=TaskState.DONE, done_at=timezone.now(),
                      done_by=specialist)
             for sequence in range(2, 31)]
    with assert_queries(4):
        assert len(listed(client, patient=patient.external_id)) == 1
    CareTask.objects.bulk_create(extra[:2])
    with assert_queries(4):
        assert len(listed(client, patient=patient.external_id)) == 3
    CareTask.objects.bulk_create(extra[2:])
    with assert_queries(4):
        assert len(listed(client, patient=patient.external_id)) == 30


# --- the appointment verb -------------------------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    seen: list[events.Event] = []
    original = events.publish

    def spy(event):
        seen.append(event)
        original(event)

    monkeypatch.setattr(events, "publish", spy)
    return seen


def test_task_set_appointment_records_the_change(labs, navigator, published, monkeypatch):
    synced = []
    original_sync = services.reminders_sync
    monkeypatch.setattr(services, "reminders_sync",
                        lambda course, today: synced.append((course.pk, today))
                        or original_sync(course, today=today))
    at = utc(2024, 12, 28, 9, 30)
    task = services.task_set_appointment(actor=navigator, task=labs, at=at,
                                         place=" Hillview phlebotomy ", note="Bring the form.")
    assert (task.appointment_at, task.appointment_place, task.appointment_note) == (
        at, "Hillview phlebotomy", "Bring the form.")
    labs.refresh_from_db()
    assert (labs.appointment_at, labs.state, labs.due) == (at, TaskState.OPEN, D(2024, 12, 30))
    event = CareTaskEvent.objects.get(task=labs)
    assert (event.transition, event.source, event.target, event.actor, event.reason) == (
        "appointment", "open", "open", navigator, "Bring the form.")
    audit = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE,
                                   object_type="coordinators.CareTask")
    assert audit.actor == navigator and audit.patient_id == labs.patient.external_id
    assert audit.changes == {
        "appointment_at": [None, at.isoformat()],
        "appointment_note": ["", "Bring the form."],
        "appointment_place": ["", "Hillview phlebotomy"],
    }
    changed = [e for e in published if isinstance(e, events.TaskChanged)]
    assert [(e.object_id, e.transition, e.source, e.target) for e in changed] == [
        (labs.pk, "appointment", "open", "open")]
    assert synced == [(labs.course_id, TODAY)]


def test_task_set_appointment_with_no_time_clears_it(labs, navigator):
    services.task_set_appointment(actor=navigator, task=labs, at=utc(2024, 12, 28, 9, 30),
                                  place="Hillview", note="Fasting.")
    services.task_set_appointment(actor=navigator, task=labs, at=None, place="ignored")
    labs.refresh_from_db()
    assert (labs.appointment_at, labs.appointment_place, labs.appointment_note) == (None, "", "")
    assert CareTaskEvent.objects.filter(task=labs, transition="appointment").count() == 2


def test_task_set_appointment_refusals(labs, navigator, outside_navigator):
    with pytest.raises(TransitionInvalid) as naive:
        services.task_set_appointment(actor=navigator, task=labs,
                                      at=dt.datetime(2024, 12, 28, 9, 30))
    assert naive.value.field == "appointment_at"
    with pytest.raises(TransitionInvalid) as long_place:
        services.task_set_appointment(actor=navigator, task=labs, at=utc(2024, 12, 28, 9),
                                      place="x" * 121)
    assert long_place.value.field == "appointment_place"
    with pytest.raises(TransitionForbidden):
        services.task_set_appointment(actor=outside_navigator, task=labs,
                                      at=utc(2024, 12, 28, 9))
    with pytest.raises(TransitionForbidden):
        services.task_set_appointment(actor=None, task=labs, at=utc(2024, 12, 28, 9))
    set_state(labs, TaskState.DONE)
    with pytest.raises(TransitionConflict):
        services.task_set_appointment(actor=navigator, task=labs, at=utc(2024, 12, 28, 9))
    labs.refresh_from_db()
    assert labs.appointment_at is None
    assert not CareTaskEvent.objects.filter(task=labs).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE,
                                         object_type="coordinators.CareTask").exists()


# --- the schema -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("name", list(VALID))
def test_every_action_is_documented_with_its_answers(schema, name):
    operation = schema["paths"][f"{URL}{{id}}/{name}/"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "409", "415"}
    assert "requestBody" in operation
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CareTask"}


def test_the_list_documents_its_filters(schema):
    operation = schema["paths"][URL]["get"]
    assert {"patient", "state", "overdue", "owner", "kind"} <= {
        parameter["name"] for parameter in operation["parameters"]}
    assert set(schema["paths"][f"{URL}{{id}}/"]["get"]["responses"]) == {
        "200", "401", "403", "404"}
    task = schema["components"]["schemas"]["CareTask"]["properties"]
    assert task["state"] == {"allOf": [{"$ref": "#/components/schemas/CareTaskStateEnum"}],
                             "readOnly": True}
    assert task["appointment"]["nullable"] is True
