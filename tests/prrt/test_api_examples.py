"""The worked examples of clinical-rules.md through the API: the records are built as a clinician
would enter them, the recommendation is read and the specialist decides through the endpoints.
Also: opening a course, what a course and its cycles show, and decisions against the rules."""

from __future__ import annotations

import datetime as dt

import pytest

from prrt import services
from prrt.models import CourseState, Cycle, CycleDecision, CycleState, TreatmentCourse
from referrals.models import ReferralState
from tests.apiclient import API, assert_uuid_references, client_for, results
from tests.factories import ReferralFactory
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.django_db

C1 = dt.date(2025, 1, 6)
C2_DUE = dt.date(2025, 3, 3)
V9 = dt.date(2025, 3, 24)


@pytest.fixture
def clock(time_machine):
    """Move the clock to noon (UTC) of a day; the API decides with today's date."""

    def move(day: dt.date) -> None:
        time_machine.move_to(dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC),
                             tick=False)

    move(C1 - dt.timedelta(days=21))
    return move


@pytest.fixture
def course(clock, centre, oncologist, specialist):
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


def cycle_url(course, number: int, tail: str = "") -> str:
    return f"{API}/cycles/{course.cycles.get(number=number).external_id}/{tail}"


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.json()
    return response.json()


def run_cycle_1(course, clock, specialist, navigator) -> None:
    """Cycle 1 as V1: normal labs, approved at 7.4 GBq and given, through the API."""
    clock(C1 - dt.timedelta(days=2))
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    services.cycle_refresh(cycle=course.cycles.get(number=1), today=C1 - dt.timedelta(days=2))
    spec, nav = client_for(specialist), client_for(navigator)
    clock(C1 - dt.timedelta(days=1))
    rec = ok(spec.get(cycle_url(course, 1, "recommendation/")))
    assert rec["recommendation"]["action"] == "PROCEED" and rec["readiness"]["ready"]
    ok(spec.post(cycle_url(course, 1, "approve/"), {"activity_gbq": "7.4"}, format="json"))
    clock(C1)
    ok(nav.post(cycle_url(course, 1, "administer/"), {
        "administered_at": "2025-01-06T10:00:00+00:00", "activity_gbq": "7.4",
        "no_short_acting_ssa_24h": True, "lar_injected_at": "2025-01-06T16:00:00+00:00"},
        format="json"))
    services.course_refresh(course=course, today=C1 + dt.timedelta(days=8))


def test_v8_withhold_then_v9_resume_reduced(course, clock, specialist, navigator, oncologist):
    run_cycle_1(course, clock, specialist, navigator)
    spec, nav = client_for(specialist), client_for(navigator)

    # V8: platelets 74 before cycle 2 -> WITHHOLD (thrombocytopenia).
    clock(C2_DUE - dt.timedelta(days=3))
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=3),
               platelets=("74", "10^9/L"))
    services.cycle_refresh(cycle=course.cycles.get(number=2),
                           today=C2_DUE - dt.timedelta(days=3))
    clock(C2_DUE)
    ready = results(spec.get(f"{API}/cycles/", {"state": "ready"}))
    assert [(row["number"], row["course"]) for row in ready] == [(2, str(course.external_id))]
    rec = ok(spec.get(cycle_url(course, 2, "recommendation/")))["recommendation"]
    assert rec["action"] == "WITHHOLD" and rec["activity_gbq"] is None
    assert [t["category"] for t in rec["triggers"]] == ["thrombocytopenia"]
    assert rec["grades"]["platelets"]["grade"] == 2
    withheld = ok(spec.post(cycle_url(course, 2, "withhold/"), {}, format="json"))
    assert withheld["state"] == CycleState.WITHHELD

    # V9: platelets 98 on 2025-03-24 -> RESUME_REDUCED at 3.7 GBq, 21 days late.
    Cycle.objects.filter(course=course, number=2).update(planned_date=V9)
    clock(V9)
    enter_labs(specialist, course.patient, V9, platelets=("98", "10^9/L"))
    services.cycle_refresh(cycle=course.cycles.get(number=2), today=V9)
    body = ok(spec.get(cycle_url(course, 2, "recommendation/")))
    rec = body["recommendation"]
    assert (rec["action"], rec["activity_gbq"], rec["delay_days"]) == ("RESUME_REDUCED", 3.7, 21)
    assert body["readiness"] == {"ready": True, "missing": [], "warnings": []}
    # The full dose differs from the recommendation: refused without a reason.
    refused = spec.post(cycle_url(course, 2, "approve/"), {"activity_gbq": "7.4"},
                        format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["reason"]
    approved = ok(spec.post(cycle_url(course, 2, "approve/"), {"activity_gbq": "3.7"},
                            format="json"))
    assert (approved["state"], approved["approved_activity_gbq"]) == ("approved", "3.70")
    ok(nav.post(cycle_url(course, 2, "administer/"), {
        "administered_at": "2025-03-24T10:00:00+00:00", "activity_gbq": "3.7",
        "no_short_acting_ssa_24h": True}, format="json"))

    # The decisions keep what the rules said and the labs they used.
    decisions = results(client_for(oncologist).get(cycle_url(course, 2, "decisions/")))
    assert [(d["decision"], d["recommended_action"], d["activity_gbq"],
             d["follows_recommendation"], d["categories"]) for d in decisions] == [
        ("withhold", "WITHHOLD", None, True, ["thrombocytopenia"]),
        ("approve", "RESUME_REDUCED", "3.70", True, []),
    ]
    assert [d["labs_snapshot"]["platelets"]["value"] for d in decisions] == ["74", "98"]
    assert decisions[1]["recommendation"]["delay_days"] == 21
    assert decisions[0]["decided_by"]["id"] == str(specialist.external_id)
    assert_uuid_references(decisions)

    # The course's history: two doses, 11.1 GBq, thrombocytopenia has occurred.
    detail = ok(client_for(oncologist).get(f"{API}/courses/{course.external_id}/"))
    history = detail["history"]
    assert [(d["cycle"], d["date"], d["activity_gbq"]) for d in history["doses"]] == [
        (1, "2025-01-06", "7.40"), (2, "2025-03-24", "3.70")]
    assert history["cumulative_activity_gbq"] == "11.10"
    assert (history["withheld_categories"], history["occurred_categories"]) == (
        [], ["thrombocytopenia"])
    assert detail["state"] == CourseState.ACTIVE
    assert [c["state"] for c in detail["cycles"]] == ["completed", "administered", "planned",
                                                      "planned"]
    assert detail["cycles"][2]["due_date"] == str(V9 + dt.timedelta(days=56))


def test_a_decision_against_the_recommendation_is_marked(course, clock, specialist, navigator):
    run_cycle_1(course, clock, specialist, navigator)
    clock(C2_DUE)
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=1),
               platelets=("74", "10^9/L"))
    services.cycle_refresh(cycle=course.cycles.get(number=2), today=C2_DUE)
    spec = client_for(specialist)
    refused = spec.post(cycle_url(course, 2, "approve/"), {"activity_gbq": "3.7"}, format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["reason"]
    assert not CycleDecision.objects.filter(cycle__number=2).exists()
    reason = "Platelets rising on repeat count; MDT agreed a reduced dose."
    ok(spec.post(cycle_url(course, 2, "approve/"), {"activity_gbq": "3.7", "reason": reason},
                 format="json"))
    [decision] = results(spec.get(cycle_url(course, 2, "decisions/")))
    assert (decision["recommended_action"], decision["follows_recommendation"],
            decision["reason"]) == ("WITHHOLD", False, reason)


def test_the_recommendation_is_null_once_the_cycle_is_given(course, clock, specialist,
                                                            navigator):
    run_cycle_1(course, clock, specialist, navigator)
    body = ok(client_for(specialist).get(cycle_url(course, 1, "recommendation/")))
    assert body["recommendation"] is None
    assert body["readiness"] == {"ready": False, "missing": [], "warnings": []}
    cycle = ok(client_for(navigator).get(cycle_url(course, 1)))
    assert cycle["state"] == "completed" and cycle["administration"]["activity_gbq"] == "7.40"
    assert cycle["available_actions"] == []  # a navigator; the course is still active


def test_a_planned_cycle_says_what_it_is_missing(course, clock, specialist):
    clock(C1 - dt.timedelta(days=3))
    services.cycle_refresh(cycle=course.cycles.get(number=1), today=C1 - dt.timedelta(days=3))
    body = ok(client_for(specialist).get(cycle_url(course, 1)))
    assert body["state"] == "planned" and any("Pre-dose labs" in m for m in body["missing"])
    assert body["available_actions"] == ["withhold", "discontinue"]
    readiness = ok(client_for(specialist).get(cycle_url(course, 1, "recommendation/")))
    assert not readiness["readiness"]["ready"]


# --- opening a course and deciding its eligibility ------------------------------------------


def test_the_centre_opens_and_approves_a_course(clock, patient, navigator, specialist):
    clock(C1 - dt.timedelta(days=21))
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    created = ok(client_for(navigator).post(f"{API}/courses/", {
        "referral": str(referral.external_id), "planned_first_dose": str(C1)}, format="json"),
        201)
    assert created["state"] == "eligibility_review" and created["referral"] == str(
        referral.external_id)
    assert [c["planned_date"] for c in created["cycles"]] == [
        "2025-01-06", "2025-03-03", "2025-04-28", "2025-06-23"]
    assert created["available_actions"] == []  # a navigator does not decide eligibility
    assert_uuid_references(created)
    url = f"{API}/courses/{created['id']}/"
    spec = client_for(specialist)
    assert ok(spec.get(url))["available_actions"] == ["approve", "reject"]
    findings = ok(spec.get(f"{url}eligibility/"))
    assert findings["course"] == created["id"] and findings["date"] == "2024-12-16"
    codes = {f["code"] for f in findings["findings"]}
    assert "ELIGIBILITY.SSTR_IMAGING_MISSING" in codes
    approved = ok(spec.post(f"{url}approve/", {
        "reason": "PET done elsewhere; report on file.", "labs_drawn_by": "centre"},
        format="json"))
    assert approved["state"] == "approved" and approved["eligibility_overridden"]
    assert approved["labs_drawn_by"] == "centre"
    assert approved["lar_during_course_by"] == "centre"
    assert approved["lar_after_course_by"] == "practice"
    assert approved["eligibility_decided_by"]["id"] == str(specialist.external_id)
    assert {f["code"] for f in approved["eligibility_findings"]} == codes
    assert approved["available_actions"] == ["discontinue"]


@pytest.mark.parametrize(("state", "status"), [
    (ReferralState.ACCEPTED, 201), (ReferralState.CONSULT_BOOKED, 201),
    (ReferralState.UNDER_REVIEW, 409), (ReferralState.DECLINED, 409),
])
def test_a_course_is_opened_from_an_accepted_referral(clock, patient, specialist, state,
                                                      status):
    referral = ReferralFactory(patient=patient, state=state)
    response = client_for(specialist).post(f"{API}/courses/", {
        "referral": str(referral.external_id), "planned_first_dose": str(C1)}, format="json")
    assert response.status_code == status, response.json()
    assert TreatmentCourse.objects.exists() == (status == 201)


def test_one_course_per_referral(clock, patient, specialist):
    referral = ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    body = {"referral": str(referral.external_id), "planned_first_dose": str(C1)}
    client = client_for(specialist)
    assert client.post(f"{API}/courses/", body, format="json").status_code == 201
    assert client.post(f"{API}/courses/", body, format="json").status_code == 409
    assert TreatmentCourse.objects.count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"planned_first_dose": "2024-12-01"}, "planned_first_dose"),
    ({"planned_first_dose": "soon"}, "planned_first_dose"),
    ({"planned_first_dose": None}, "planned_first_dose"),
    ({"referral": "not-a-uuid"}, "referral"),
])
def test_opening_a_course_with_bad_input(clock, patient, specialist, body, field):
    referral = ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    data = {"referral": str(referral.external_id), "planned_first_dose": str(C1), **body}
    response = client_for(specialist).post(f"{API}/courses/", data, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not TreatmentCourse.objects.exists()


def test_course_list_filters(clock, course, patient, specialist):
    ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    other = services.course_open(
        actor=specialist, planned_first_dose=C1,
        referral=ReferralFactory(patient=patient, state=ReferralState.ACCEPTED))
    client = client_for(specialist)
    assert {r["id"] for r in results(client.get(f"{API}/courses/", {"state": "approved"}))} == {
        str(course.external_id)}
    by_patient = results(client.get(f"{API}/courses/", {"patient": str(patient.external_id)}))
    assert [r["id"] for r in by_patient] == [str(other.external_id)]
    assert client.get(f"{API}/courses/", {"state": "paused"}).status_code == 400
    cycles = results(client.get(f"{API}/cycles/", {"course": str(other.external_id)}))
    assert [c["number"] for c in cycles] == [1, 2, 3, 4]
    assert client.get(f"{API}/cycles/", {"state": "nope"}).json() == {
        "detail": '"nope" is not a valid choice.', "field": "state",
        "errors": {"state": ['"nope" is not a valid choice.']}}
