"""The navigator's caseload: buckets and counts, blocked cycles, filters, in-place actions,
access and a constant number of queries."""

import datetime as dt

import pytest
from django.urls import reverse

from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from netcare.models import AuditEvent
from prrt.models import Cycle, CycleState, TreatmentCourse
from referrals.models import ReferralState
from tests.factories import PatientFactory, ReferralFactory
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))


def make_patient(centre, oncologist, *, family="Case", tasks=(), blocked=False):
    """A patient in treatment with the given (kind, due, owner) open tasks."""
    patient = PatientFactory(centre=centre, referring_oncologist=oncologist, family_name=family)
    referral = ReferralFactory(patient=patient, state=ReferralState.IN_TREATMENT)
    course = TreatmentCourse.objects.create(patient=patient, referral=referral, centre=centre,
                                            planned_first_dose=TODAY - dt.timedelta(days=60),
                                            state="active")
    Cycle.objects.create(course=course, number=2, due_date=TODAY + dt.timedelta(days=5),
                         planned_date=TODAY + dt.timedelta(days=5),
                         missing=["Pre-dose labs within 14 days: Platelets."] if blocked else [],
                         state=CycleState.PLANNED)
    for index, (kind, due, owner) in enumerate(tasks):
        CareTask.objects.create(course=course, patient=patient, kind=kind, cycle=2,
                                sequence=index + 1, owner_party=owner, earliest=due, due=due,
                                latest=due + dt.timedelta(days=1))
    return patient


@pytest.fixture
def caseload(centre, oncologist):
    lar = make_patient(centre, oncologist, family="Larsen", tasks=[
        (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=2), OwnerParty.CENTRE),
        (TaskKind.RADIATION_SAFETY_CHECKIN, TODAY, OwnerParty.CENTRE)])
    labs = make_patient(centre, oncologist, family="Labbe", blocked=True, tasks=[
        (TaskKind.PRE_DOSE_LABS, TODAY + dt.timedelta(days=3), OwnerParty.PRACTICE),
        (TaskKind.IMAGING, TODAY + dt.timedelta(days=30), OwnerParty.CENTRE)])
    return {"lar": lar, "labs": labs}


def get(client, **params):
    return client.get(reverse("navigator-home"), params)


def test_buckets_counts_and_blocked(client, navigator, caseload):
    client.force_login(navigator)
    response = get(client)
    data = response.context["caseload"]
    assert data.counts == {"overdue": 1, "today": 1, "upcoming": 1, "blocked": 1, "patients": 2}
    assert [g.patient.family_name for g in data.groups] == ["Larsen", "Labbe"]
    page = response.content.decode()
    assert 'id="count-overdue">1<' in page
    assert "Overdue" in page and "Octreotide LAR injection (cycle 2)" in page
    assert "Pre-dose labs within 14 days: Platelets." in page
    assert 'data-kind="imaging"' not in page  # due in 30 days: not on today's page


def test_filters(client, navigator, caseload):
    client.force_login(navigator)
    assert get(client, owner="practice").context["caseload"].counts["upcoming"] == 1
    assert get(client, owner="practice").context["caseload"].counts["overdue"] == 0
    assert get(client, kind=TaskKind.LAR_INJECTION).context["caseload"].counts["overdue"] == 1
    assert get(client, kind=TaskKind.LAR_INJECTION).context["caseload"].counts["today"] == 0
    by_name = get(client, q="labb").context["caseload"]
    assert [g.patient.family_name for g in by_name.groups] == ["Labbe"]
    by_mrn = get(client, q=caseload["lar"].mrn).context["caseload"]
    assert [g.patient.family_name for g in by_mrn.groups] == ["Larsen"]
    assert get(client, stage="completed").context["caseload"].counts["patients"] == 0
    assert get(client, owner="nonsense").context["caseload"].filters.owner == ""


def test_mark_done_in_place_with_the_injection_time(client, navigator, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    url = reverse("caseload:task-action", args=[task.external_id, "done"])
    response = client.post(url, {"done_at": "2026-11-22T08:15", "value": "Left gluteal"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["caseload"].counts["overdue"] == 0
    assert 'id="caseload"' in response.content.decode()
    assert "<html" not in response.content.decode()
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.done_by == navigator
    assert task.done_at.isoformat() == "2026-11-22T08:15:00+00:00"
    assert task.value == "Left gluteal"
    assert AuditEvent.objects.filter(action="transition", object_id=str(task.external_id)).exists()


def test_skip_without_reason_is_an_error_and_changes_nothing(client, navigator, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    response = client.post(reverse("caseload:task-action", args=[task.external_id, "skip"]),
                           {"reason": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "A reason is required" in response.content.decode()
    task.refresh_from_db()
    assert task.state == TaskState.OPEN


def test_snooze_hides_the_task_until_the_day(client, navigator, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    response = client.post(reverse("caseload:task-action", args=[task.external_id, "snooze"]),
                           {"until": "2026-11-25", "reason": "Patient travelling"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["caseload"].counts["overdue"] == 0
    task.refresh_from_db()
    assert task.snoozed_until == dt.date(2026, 11, 25)


def test_reassign_to_a_colleague(client, navigator, specialist, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.PRE_DOSE_LABS)
    client.post(reverse("caseload:task-action", args=[task.external_id, "reassign"]),
                {"owner": str(specialist.external_id)}, HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert (task.owner_party, task.owner_user) == (OwnerParty.USER, specialist)
    assert get(client, owner="me").context["caseload"].counts["upcoming"] == 0


def test_outsiders_see_nothing_and_cannot_act(client, outside_navigator, oncologist, caseload):
    client.force_login(outside_navigator)
    assert get(client).context["caseload"].counts["patients"] == 0
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    response = client.post(reverse("caseload:task-action", args=[task.external_id, "done"]), {})
    assert response.status_code == 404
    client.force_login(oncologist)
    assert get(client).status_code == 403
    task.refresh_from_db()
    assert task.state == TaskState.OPEN


def test_constant_queries_for_5_and_200_patients(client, navigator, centre, oncologist):
    def add(n):
        for i in range(n):
            make_patient(centre, oncologist, family=f"Q{i}", blocked=i % 3 == 0, tasks=[
                (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=1), OwnerParty.CENTRE),
                (TaskKind.PRE_DOSE_LABS, TODAY + dt.timedelta(days=2), OwnerParty.PRACTICE)])

    def load():
        response = get(client)
        assert response.status_code == 200
        return response

    client.force_login(navigator)
    add(5)
    response = assert_constant_queries(load, grow=lambda: add(195))
    assert response.context["caseload"].counts["patients"] == 200
