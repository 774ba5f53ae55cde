"""The course and cycle workflows through their POST actions, for every (state, action, role):
the allowed steps move the record and record it; the others are refused with 409 (wrong state)
or 403 (wrong role) and change nothing. Bad input is a 400 that names its field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from netcare.models import AuditEvent
from prrt import services
from prrt.models import (
    Administration,
    CourseEvent,
    CourseState,
    Cycle,
    CycleDecision,
    CycleState,
    TreatmentCourse,
)
from referrals.models import ReferralState
from tests.apiclient import API, client_for
from tests.factories import ReferralFactory
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.django_db

C1 = dt.date(2025, 1, 6)
TODAY = C1 - dt.timedelta(days=2)
ROLES = ["specialist", "navigator", "oncologist"]
CS, YS = CourseState, CycleState


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(dt.datetime(2025, 1, 4, 12, 0, tzinfo=dt.UTC), tick=False)


@dataclass(frozen=True)
class Rule:
    sources: set[str]
    roles: set[str]


def expected_status(rule: Rule, state: str, role: str) -> int:
    if state not in rule.sources:
        return 409
    if role not in rule.roles:
        return 403
    return 200


def put_in_state(model, obj, state: str, **fields) -> None:
    """Set a state directly (the workflow itself is exercised through the API)."""
    model.objects.filter(pk=obj.pk).update(state=state, **fields)


# --- cycles ---------------------------------------------------------------------------------

# The course each cycle state is found in.
COURSE_OF_CYCLE = {YS.PLANNED: CS.APPROVED, YS.READY: CS.APPROVED, YS.WITHHELD: CS.APPROVED,
                   YS.APPROVED: CS.APPROVED, YS.ADMINISTERED: CS.ACTIVE,
                   YS.COMPLETED: CS.ACTIVE, YS.CANCELLED: CS.DISCONTINUED}
assert set(COURSE_OF_CYCLE) == set(YS.values)

CYCLE_RULES = {
    "approve": Rule({YS.READY}, {"specialist"}),
    "withhold": Rule({YS.PLANNED, YS.READY}, {"specialist"}),
    # Discontinuing ends the course from the cycle being decided: an open cycle of a running
    # course (a cycle already given or cancelled is not decided any more).
    "discontinue": Rule({s for s, c in COURSE_OF_CYCLE.items()
                         if c in (CS.APPROVED, CS.ACTIVE)
                         and s in (YS.PLANNED, YS.READY, YS.WITHHELD)}, {"specialist"}),
    "administer": Rule({YS.APPROVED}, {"specialist", "navigator"}),
}
CYCLE_BODIES = {
    "approve": {"activity_gbq": "7.4", "reason": "MDT agreed."},
    "withhold": {"categories": ["thrombocytopenia"], "reason": "MDT agreed."},
    "discontinue": {"reason": "The patient declines further cycles."},
    "administer": {"administered_at": "2025-01-04T10:00:00+00:00", "activity_gbq": "7.4",
                   "no_short_acting_ssa_24h": True, "lar_injected_at": "2025-01-04T16:00:00Z"},
}


@pytest.fixture
def course(centre, oncologist, specialist):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    enter_labs(specialist, course.patient, TODAY)
    return course


def cycle_in(course, state: str) -> Cycle:
    cycle = course.cycles.get(number=1)
    put_in_state(Cycle, cycle, state,
                 approved_activity_gbq=Decimal("7.4") if state == YS.APPROVED else None)
    put_in_state(TreatmentCourse, course, COURSE_OF_CYCLE[state])
    return cycle


def audited_changes() -> int:
    """Audit rows other than reads and refusals (both are written for any request)."""
    return AuditEvent.objects.exclude(action__in=["view", "refused"]).count()


def cycle_trail(course) -> tuple:
    """Everything a cycle step writes, to show that a refusal wrote none of it."""
    return (TreatmentCourse.objects.get(pk=course.pk).state,
            sorted(course.cycles.values_list("number", "state", "approved_activity_gbq",
                                             "planned_date")),
            CycleDecision.objects.count(), Administration.objects.count(),
            CourseEvent.objects.count(), audited_changes())


def test_the_cycle_table_covers_every_action():
    assert set(CYCLE_RULES) == set(CYCLE_BODIES) == {"approve", "withhold", "discontinue",
                                                     "administer"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(CYCLE_RULES))
@pytest.mark.parametrize("state", list(YS.values))
def test_cycle_transition_table(request, course, state, action, role):
    actor = request.getfixturevalue(role)
    cycle = cycle_in(course, state)
    before = cycle_trail(course)
    last_event = CourseEvent.objects.order_by("-id").values_list("id", flat=True).first()

    response = client_for(actor).post(f"{API}/cycles/{cycle.external_id}/{action}/",
                                      CYCLE_BODIES[action], format="json")

    expected = expected_status(CYCLE_RULES[action], state, role)
    assert response.status_code == expected, response.json()
    if expected != 200:
        assert cycle_trail(course) == before
        body = response.json()
        shape = {"detail", "field", "errors"} if expected == 400 else {"detail", "field"}
        assert set(body) == shape and body["detail"] and body["field"] is None
        return
    body = response.json()
    cycle.refresh_from_db()
    course.refresh_from_db()
    assert body["id"] == str(cycle.external_id) and body["state"] == cycle.state
    if action == "approve":
        assert cycle.state == YS.APPROVED and cycle.approved_activity_gbq == Decimal("7.4")
    elif action == "withhold":
        assert cycle.state == YS.WITHHELD
    elif action == "discontinue":
        assert course.state == CS.DISCONTINUED
        assert not course.cycles.filter(state__in=[YS.PLANNED, YS.READY, YS.WITHHELD,
                                                   YS.APPROVED]).exists()
    else:
        assert cycle.state == YS.ADMINISTERED and course.state == CS.ACTIVE
        assert body["administration"]["activity_gbq"] == "7.40"
        assert body["administration"]["recorded_by"] == str(actor.external_id)
    if action == "administer":
        assert not CycleDecision.objects.exists()
    else:
        decision = CycleDecision.objects.get()
        assert (decision.cycle_id, decision.decision, decision.decided_by) == (
            cycle.pk, action, actor)
        assert decision.reason == CYCLE_BODIES[action]["reason"]
    event = CourseEvent.objects.filter(id__gt=last_event).order_by("id").first()
    assert (event.actor, event.transition, event.source) == (
        actor, action, COURSE_OF_CYCLE[state] if action == "discontinue" else state)


# --- courses --------------------------------------------------------------------------------

COURSE_RULES = {
    "approve": (Rule({CS.ELIGIBILITY_REVIEW}, {"specialist"}), CS.APPROVED),
    "reject": (Rule({CS.ELIGIBILITY_REVIEW}, {"specialist"}), CS.NOT_APPROVED),
    "discontinue": (Rule({CS.APPROVED, CS.ACTIVE}, {"specialist"}), CS.DISCONTINUED),
}
COURSE_BODIES = {
    "approve": {"reason": "Imaging on file elsewhere; MDT agreed.", "labs_drawn_by": "centre",
                "lar_during_course_by": "centre", "lar_after_course_by": "practice"},
    "reject": {"reason": "SSTR imaging negative."},
    "discontinue": {"reason": "The patient declines further cycles."},
}


@pytest.fixture
def course_in_review(patient, specialist):
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    return services.course_open(actor=specialist, referral=referral,
                                planned_first_dose=C1 + dt.timedelta(days=14))


def course_trail(course) -> tuple:
    course = TreatmentCourse.objects.get(pk=course.pk)
    return (course.state, course.eligibility_decided_by_id, course.eligibility_reason,
            course.eligibility_findings, course.labs_drawn_by, course.ended_reason,
            course.referral.state, sorted(course.cycles.values_list("number", "state")),
            CourseEvent.objects.count(), audited_changes())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(COURSE_RULES))
@pytest.mark.parametrize("state", list(CS.values))
def test_course_transition_table(request, course_in_review, state, action, role):
    actor = request.getfixturevalue(role)
    course = course_in_review
    put_in_state(TreatmentCourse, course, state)
    before = course_trail(course)

    response = client_for(actor).post(f"{API}/courses/{course.external_id}/{action}/",
                                      COURSE_BODIES[action], format="json")

    rule, target = COURSE_RULES[action]
    expected = expected_status(rule, state, role)
    assert response.status_code == expected, response.json()
    if expected != 200:
        assert course_trail(course) == before
        body = response.json()
        shape = {"detail", "field", "errors"} if expected == 400 else {"detail", "field"}
        assert set(body) == shape and body["field"] is None
        return
    course.refresh_from_db()
    assert course.state == target and response.json()["state"] == target
    event = CourseEvent.objects.get(course=course, cycle=None)
    assert (event.transition, event.source, event.target, event.actor, event.reason) == (
        action, state, target, actor, COURSE_BODIES[action]["reason"])
    if action == "approve":
        assert course.labs_drawn_by == "centre" and course.eligibility_overridden
        assert response.json()["eligibility_findings"] == course.eligibility_findings
        assert course.referral.state == ReferralState.IN_TREATMENT
    if action == "discontinue":
        assert set(course.cycles.values_list("state", flat=True)) == {YS.CANCELLED}


# --- bad input: 400 naming the field, nothing changed ---------------------------------------


def ready_cycle(course) -> Cycle:
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=1), today=TODAY)
    assert cycle.state == YS.READY
    return cycle


@pytest.mark.parametrize(("body", "field"), [
    ({"activity_gbq": "5.0"}, "activity_gbq"),
    ({"activity_gbq": 5}, "activity_gbq"),
    ({"activity_gbq": "lots"}, "activity_gbq"),
    ({}, "activity_gbq"),
    # The rules recommend 7.4 GBq: a reduced dose differs and needs a reason.
    ({"activity_gbq": "3.7"}, "reason"),
    ({"activity_gbq": "3.7", "reason": "   "}, "reason"),
])
def test_approve_with_bad_input(course, specialist, body, field):
    cycle = ready_cycle(course)
    before = cycle_trail(course)
    response = client_for(specialist).post(f"{API}/cycles/{cycle.external_id}/approve/", body,
                                           format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert isinstance(response.json()["errors"][field], list) and response.json()["field"] == field
    assert cycle_trail(course) == before


@pytest.mark.parametrize(("action", "body", "field"), [
    ("withhold", {"categories": ["boredom"]}, "categories.0"),  # the item at fault
    # The rules recommend proceeding: withholding and discontinuing differ and need a reason.
    ("withhold", {"categories": ["thrombocytopenia"]}, "reason"),
    ("discontinue", {}, "reason"),
])
def test_withhold_and_discontinue_with_bad_input(course, specialist, action, body, field):
    cycle = ready_cycle(course)
    before = cycle_trail(course)
    response = client_for(specialist).post(f"{API}/cycles/{cycle.external_id}/{action}/", body,
                                           format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert cycle_trail(course) == before


GOOD_ADMINISTRATION = CYCLE_BODIES["administer"]


@pytest.mark.parametrize(("change", "field"), [
    ({"administered_at": "2025-01-04T10:00:00"}, "administered_at"),
    ({"lar_injected_at": "2025-01-04T16:00:00"}, "lar_injected_at"),
    ({"administered_at": "2025-01-05T10:00:00+00:00"}, "administered_at"),  # the future
    ({"administered_at": "yesterday"}, "administered_at"),
    ({"no_short_acting_ssa_24h": False}, "no_short_acting_ssa_24h"),
    ({"no_short_acting_ssa_24h": None}, "no_short_acting_ssa_24h"),
    ({"activity_gbq": "9"}, "activity_gbq"),
    ({"activity_gbq": "0"}, "activity_gbq"),
    ({"infusion_reaction_grade": 6}, "infusion_reaction_grade"),
])
def test_administer_with_bad_input(course, specialist, navigator, change, field):
    cycle = ready_cycle(course)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=TODAY)
    before = cycle_trail(course)
    body = {**GOOD_ADMINISTRATION, **change}
    response = client_for(navigator).post(f"{API}/cycles/{cycle.external_id}/administer/", body,
                                          format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field], response.json()
    assert cycle_trail(course) == before


def test_administration_warnings_come_back(course, specialist, navigator):
    cycle = ready_cycle(course)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=TODAY)
    body = {**GOOD_ADMINISTRATION, "activity_gbq": "7.0",
            "lar_injected_at": "2025-01-04T11:00:00+00:00"}
    response = client_for(navigator).post(f"{API}/cycles/{cycle.external_id}/administer/", body,
                                          format="json")
    assert response.status_code == 200
    warnings = response.json()["administration"]["warnings"]
    assert any("1.0 h" in w for w in warnings) and any("7.4" in w for w in warnings)


@pytest.mark.parametrize(("action", "body"), [
    ("approve", {}),  # no SSTR imaging, no labs: blocking findings need a reason
    ("reject", {}),
    ("reject", {"reason": " "}),
    ("approve", {"reason": "MDT agreed.", "labs_drawn_by": "nobody"}),
])
def test_eligibility_decisions_with_bad_input(course_in_review, specialist, action, body):
    before = course_trail(course_in_review)
    response = client_for(specialist).post(
        f"{API}/courses/{course_in_review.external_id}/{action}/", body, format="json")
    assert response.status_code == 400
    field = "labs_drawn_by" if "labs_drawn_by" in body else "reason"
    assert list(response.json()["errors"]) == [field]
    assert course_trail(course_in_review) == before


def test_approving_before_the_consult_is_booked_names_the_referral(patient, specialist):
    referral = ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    course = services.course_open(actor=specialist, referral=referral, planned_first_dose=C1)
    response = client_for(specialist).post(f"{API}/courses/{course.external_id}/approve/",
                                           {"reason": "MDT agreed."}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["referral"]


@pytest.mark.parametrize("body", [{}, {"reason": ""}])
def test_discontinuing_a_course_needs_a_reason(course, specialist, body):
    before = cycle_trail(course)
    response = client_for(specialist).post(f"{API}/courses/{course.external_id}/discontinue/",
                                           body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]
    assert cycle_trail(course) == before
