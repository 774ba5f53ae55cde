"""Booking a cycle's infusion through the API (`POST /api/v1/cycles/{id}/reschedule/`): the cycle
answers with the booked day as its `planned_date`, the plan moves with it, the booking's warnings
are surfaced, and refusals keep their status (400 naming the field, 403, 404, 409).

The database commits here (as in production), so the plan's handlers run on commit, before the
answer is shaped."""

from __future__ import annotations

import datetime as dt

import pytest

from coordinators.models import CareTask, TaskKind
from netcare.models import AuditEvent
from prrt.models import CourseEvent, Cycle, CycleState
from tests.apiclient import API, assert_uuid_references, client_for
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date
C1 = D(2025, 1, 6)  # cycle 1 as planned; cycle 2 is then planned for 3 March (56 days)


@pytest.fixture
def course(time_machine, centre, oncologist, specialist, navigator):
    """Approved 20 days before the first dose, at 09:00 in London; the last long-acting SSA
    injection was 40 days before the first dose (27 November 2024)."""
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC), tick=False)
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


def cycle_of(course, number: int) -> Cycle:
    return Cycle.objects.get(course=course, number=number)


def reschedule(user, cycle: Cycle, body: dict):
    return client_for(user).post(f"{API}/cycles/{cycle.external_id}/reschedule/", body,
                                 format="json")


def test_booking_moves_the_cycle_and_its_plan(course, navigator):
    cycle = cycle_of(course, 2)
    assert cycle.planned_date == D(2025, 3, 3)
    response = reschedule(navigator, cycle, {"planned_date": "2025-03-05", "time": "09:30",
                                             "place": "Day unit, room 4"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["number"], body["planned_date"]) == (
        str(cycle.external_id), 2, "2025-03-05")
    assert body["booking"] == {"date": "2025-03-05", "time": "09:30:00",
                               "place": "Day unit, room 4", "reason": "",
                               "outside_interval": False}
    assert body["warnings"] == []
    assert_uuid_references(body)

    cycle.refresh_from_db()
    assert (cycle.planned_date, cycle.booked_date) == (D(2025, 3, 5), D(2025, 3, 5))
    infusion = CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=2)
    assert infusion.due == D(2025, 3, 5)
    assert cycle_of(course, 3).planned_date == D(2025, 4, 30)  # 56 days after the booking
    event = CourseEvent.objects.get(cycle=cycle, transition="book")
    assert event.actor == navigator
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_type="prrt.Cycle",
                                     object_id=str(cycle.external_id)).exists()


def test_a_read_shows_the_booked_day(course, specialist):
    cycle = cycle_of(course, 1)
    response = reschedule(specialist, cycle, {"planned_date": "2025-01-08"})
    assert response.status_code == 200, response.content
    assert response.json()["planned_date"] == "2025-01-08"
    read = client_for(specialist).get(f"{API}/cycles/{cycle.external_id}/").json()
    assert read["planned_date"] == "2025-01-08"
    assert cycle_of(course, 2).planned_date == D(2025, 3, 5)


def test_under_49_days_after_the_previous_dose_needs_a_reason(course, navigator):
    cycle = cycle_of(course, 2)
    response = reschedule(navigator, cycle, {"planned_date": "2025-02-20"})  # 45 days
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == ["reason"]
    assert "45 days" in errors["reason"][0]
    cycle.refresh_from_db()
    assert (cycle.booked_date, cycle.planned_date) == (None, D(2025, 3, 3))
    assert not CourseEvent.objects.filter(cycle=cycle, transition="book").exists()

    response = reschedule(navigator, cycle, {"planned_date": "2025-02-20",
                                             "reason": "Patient travels abroad in March."})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["planned_date"] == "2025-02-20"
    assert body["booking"]["outside_interval"] is True
    assert body["booking"]["reason"] == "Patient travels abroad in March."
    assert any("outside the window" in warning for warning in body["warnings"])


def test_a_short_ssa_washout_is_a_warning(course, navigator):
    # 29 days after the last long-acting SSA injection (27 November): allowed, with a warning.
    response = reschedule(navigator, cycle_of(course, 1), {"planned_date": "2024-12-26"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["planned_date"] == "2024-12-26"
    assert len(body["warnings"]) == 1 and body["warnings"][0]


def test_a_later_booking_left_too_close_is_released_with_a_warning(course, navigator):
    third = cycle_of(course, 3)
    assert reschedule(navigator, third, {"planned_date": "2025-04-25"}).status_code == 200
    response = reschedule(navigator, cycle_of(course, 2), {"planned_date": "2025-03-10"})
    assert response.status_code == 200, response.content
    [warning] = response.json()["warnings"]
    assert "Cycle 3" in warning
    third.refresh_from_db()
    assert third.booked_date is None


@pytest.mark.parametrize(("body", "field"), [
    ({}, "planned_date"),
    ({"planned_date": "next week"}, "planned_date"),
    ({"planned_date": "2024-12-10"}, "planned_date"),  # in the past
    ({"planned_date": "2024-12-20"}, "planned_date"),  # 23 days after the last SSA injection
    ({"planned_date": "2025-01-08", "time": "half past nine"}, "time"),
    ({"planned_date": "2025-01-08", "place": "x" * 121}, "place"),
])
def test_bad_input_is_400_naming_the_field(course, navigator, body, field):
    cycle = cycle_of(course, 1)
    response = reschedule(navigator, cycle, body)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    cycle.refresh_from_db()
    assert cycle.booked_date is None


def test_only_the_centres_team_books(course, oncologist):
    response = reschedule(oncologist, cycle_of(course, 1), {"planned_date": "2025-01-08"})
    assert response.status_code == 403
    assert response.json()["detail"]
    assert cycle_of(course, 1).booked_date is None


@pytest.mark.parametrize("persona", ["outside_navigator", "outside_specialist", "oncologist2"])
def test_outside_the_scope_is_404(request, course, persona):
    response = reschedule(request.getfixturevalue(persona), cycle_of(course, 1),
                          {"planned_date": "2025-01-08"})
    assert response.status_code == 404
    assert cycle_of(course, 1).booked_date is None


def test_anonymous_is_refused(course):
    assert reschedule(None, cycle_of(course, 1), {"planned_date": "2025-01-08"}).status_code \
        == 403


@pytest.mark.parametrize("state", [CycleState.ADMINISTERED, CycleState.CANCELLED])
def test_a_cycle_no_longer_open_is_409(course, navigator, state):
    cycle = cycle_of(course, 1)
    Cycle.objects.filter(pk=cycle.pk).update(state=state)
    response = reschedule(navigator, cycle, {"planned_date": "2025-01-08"})
    assert response.status_code == 409
    assert response.json()["detail"]
    cycle.refresh_from_db()
    assert cycle.booked_date is None
