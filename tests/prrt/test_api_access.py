"""Access to the PRRT endpoints: outsiders get a 404 everywhere and change nothing; the patient's
team and referrer read everything; people who see a course but lack the role get a 403 and
change nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from netcare.models import AuditEvent
from prrt import services
from prrt.models import Administration, CourseEvent, Cycle, CycleDecision, TreatmentCourse
from referrals.models import Referral, ReferralState
from tests.apiclient import API, assert_uuid_references, client_for, results
from tests.factories import ReferralFactory
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.django_db

C1 = dt.date(2025, 1, 6)
TODAY = C1 - dt.timedelta(days=2)
OUTSIDERS = ["oncologist2", "outside_specialist", "outside_navigator", "administrator"]
INSIDERS = ["oncologist", "specialist", "navigator"]
GIVEN = {"administered_at": f"{TODAY}T10:00:00+00:00", "activity_gbq": "7.4",
         "no_short_acting_ssa_24h": True}


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(dt.datetime(2025, 1, 4, 12, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def world(centre, oncologist, specialist):
    """An approved course whose first cycle is ready, and a course still in review."""
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    enter_labs(specialist, course.patient, TODAY)
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=1), today=TODAY)
    assert cycle.state == "ready"
    in_review = services.course_open(
        actor=specialist, planned_first_dose=C1,
        referral=ReferralFactory(patient=course.patient, state=ReferralState.ACCEPTED))
    return {"course": course, "cycle": cycle, "in_review": in_review}


def endpoints(world) -> list[tuple[str, str, dict | None]]:
    """Every course- or cycle-specific endpoint, with a body that would be valid."""
    c = f"{API}/courses/{world['course'].external_id}"
    r = f"{API}/courses/{world['in_review'].external_id}"
    y = f"{API}/cycles/{world['cycle'].external_id}"
    return [
        ("get", f"{c}/", None),
        ("get", f"{c}/eligibility/", None),
        ("post", f"{r}/approve/", {"reason": "MDT agreed."}),
        ("post", f"{r}/reject/", {"reason": "Not a candidate."}),
        ("post", f"{c}/discontinue/", {"reason": "Patient's wish."}),
        ("get", f"{y}/", None),
        ("get", f"{y}/recommendation/", None),
        ("get", f"{y}/decisions/", None),
        ("post", f"{y}/approve/", {"activity_gbq": "7.4"}),
        ("post", f"{y}/withhold/", {"categories": ["thrombocytopenia"], "reason": "MDT."}),
        ("post", f"{y}/discontinue/", {"reason": "Patient's wish."}),
        ("post", f"{y}/administer/", GIVEN),
    ]


def snapshot():
    return {
        "courses": sorted(TreatmentCourse.objects.values_list(
            "pk", "state", "labs_drawn_by", "eligibility_reason", "ended_reason")),
        "cycles": sorted(Cycle.objects.values_list("pk", "state", "approved_activity_gbq")),
        "referrals": sorted(Referral.objects.values_list("pk", "state")),
        "decisions": CycleDecision.objects.count(),
        "administrations": Administration.objects.count(),
        "events": CourseEvent.objects.count(),
        # Refused requests are audited (netcare.middleware); nothing else may be.
        "audit": AuditEvent.objects.exclude(action=AuditEvent.Action.REFUSED).count(),
    }


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_every_endpoint_is_404_outside_scope_and_changes_nothing(request, world, persona):
    client = client_for(request.getfixturevalue(persona))
    before = snapshot()
    for method, url, body in endpoints(world):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code, response.data)
    assert snapshot() == before
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REFUSED).count() == len(
        endpoints(world))


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_lists_leave_out_what_is_outside_scope(request, world, persona):
    client = client_for(request.getfixturevalue(persona))
    assert results(client.get(f"{API}/courses/")) == []
    assert results(client.get(f"{API}/cycles/")) == []


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_outsiders_cannot_open_a_course_on_a_referral_they_cannot_see(request, world, persona):
    referral = ReferralFactory(patient=world["course"].patient, state=ReferralState.ACCEPTED)
    before = snapshot()
    response = client_for(request.getfixturevalue(persona)).post(
        f"{API}/courses/", {"referral": str(referral.external_id),
                            "planned_first_dose": "2025-02-03"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["referral"]
    assert snapshot() == before


@pytest.mark.parametrize("persona", INSIDERS)
def test_the_team_and_the_referrer_read_every_endpoint(request, world, persona):
    client = client_for(request.getfixturevalue(persona))
    for method, url, _body in endpoints(world):
        if method == "get":
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.data)
            assert_uuid_references(response.json())
    courses = {row["id"] for row in results(client.get(f"{API}/courses/"))}
    assert courses == {str(world["course"].external_id), str(world["in_review"].external_id)}
    cycles = results(client.get(f"{API}/cycles/"))
    assert len(cycles) == 8


def test_reads_are_audited_as_views_of_the_patient(world, oncologist):
    client = client_for(oncologist)
    patient = world["course"].patient
    for method, url, _body in endpoints(world):
        if method == "get":
            before = AuditEvent.objects.filter(action="view").count()
            assert client.get(url).status_code == 200, url
            event = AuditEvent.objects.filter(action="view").latest("id")
            assert AuditEvent.objects.filter(action="view").count() == before + 1, url
            assert (event.actor, event.patient_id) == (oncologist, patient.external_id), url


# Who sees the course but may not take the step: (persona, endpoint, state to put it in).
WRONG_ROLES = [
    ("navigator", "cycle/approve", {"activity_gbq": "7.4"}),
    ("navigator", "cycle/withhold", {"categories": ["thrombocytopenia"], "reason": "MDT."}),
    ("navigator", "cycle/discontinue", {"reason": "Patient's wish."}),
    ("oncologist", "cycle/approve", {"activity_gbq": "7.4"}),
    ("oncologist", "cycle/withhold", {"categories": ["thrombocytopenia"], "reason": "MDT."}),
    ("oncologist", "cycle/discontinue", {"reason": "Patient's wish."}),
    ("oncologist", "approved-cycle/administer", GIVEN),
    ("navigator", "review/approve", {"reason": "MDT agreed."}),
    ("navigator", "review/reject", {"reason": "Not a candidate."}),
    ("oncologist", "review/approve", {"reason": "MDT agreed."}),
    ("oncologist", "review/reject", {"reason": "Not a candidate."}),
    ("navigator", "course/discontinue", {"reason": "Patient's wish."}),
    ("oncologist", "course/discontinue", {"reason": "Patient's wish."}),
]


@pytest.mark.parametrize(("persona", "target", "body"), WRONG_ROLES)
def test_wrong_roles_are_403_and_change_nothing(request, world, specialist, persona, target,
                                                body):
    where, step = target.split("/")
    if where == "approved-cycle":
        services.cycle_decide(actor=specialist, cycle=world["cycle"], decision="approve",
                              activity_gbq="7.4", today=TODAY)
    url = {
        "cycle": f"{API}/cycles/{world['cycle'].external_id}",
        "approved-cycle": f"{API}/cycles/{world['cycle'].external_id}",
        "review": f"{API}/courses/{world['in_review'].external_id}",
        "course": f"{API}/courses/{world['course'].external_id}",
    }[where]
    before = snapshot()
    response = client_for(request.getfixturevalue(persona)).post(f"{url}/{step}/", body,
                                                                 format="json")
    assert response.status_code == 403, response.json()
    assert response.json() == {"detail": response.json()["detail"], "field": None}
    assert snapshot() == before


def test_an_oncologist_cannot_open_a_course(world, oncologist):
    referral = ReferralFactory(patient=world["course"].patient, state=ReferralState.ACCEPTED)
    before = snapshot()
    response = client_for(oncologist).post(f"{API}/courses/", {
        "referral": str(referral.external_id), "planned_first_dose": "2025-02-03"}, format="json")
    assert response.status_code == 403
    assert snapshot() == before


def test_unknown_and_integer_ids_are_404(world, specialist):
    client = client_for(specialist)
    unknown = uuid.uuid4()
    for url in (f"{API}/courses/{unknown}/", f"{API}/courses/{unknown}/eligibility/",
                f"{API}/cycles/{unknown}/", f"{API}/cycles/{unknown}/recommendation/",
                f"{API}/cycles/{unknown}/decisions/", f"{API}/courses/{world['course'].pk}/",
                f"{API}/cycles/{world['cycle'].pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{API}/cycles/{unknown}/approve/", {"activity_gbq": "7.4"},
                       format="json").status_code == 404


@pytest.mark.parametrize("url", [f"{API}/courses/", f"{API}/cycles/"])
def test_anonymous_is_refused(world, url):
    assert client_for(None).get(url).status_code == 403
