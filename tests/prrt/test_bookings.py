"""Booking a cycle's infusion (prrt.bookings.cycle_book), rule by rule at its boundaries.

The V19 course: approved on 17 Dec 2024 (09:00 in London), cycle 1 planned on 6 Jan 2025, then
3 Mar, 28 Apr and 23 Jun 2025; the last long-acting SSA injection on 27 Nov 2024 (40 days before
cycle 1). Each table holds the day before a limit, the limit and the day after it; a rule that
moved by one day fails one of its rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from coordinators.models import CareTask, CareTaskEvent, TaskKind, TaskState
from netcare.models import AuditEvent
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from patients.models import Patient
from patients.services import lab_result_add
from prrt import services
from prrt.bookings import cycle_book
from prrt.models import CourseEvent, Cycle, CycleState, SSAInjection
from tests.prrt.builders import NORMAL, approved_course, at, enter_labs

pytestmark = pytest.mark.django_db

D = dt.date
C1 = D(2025, 1, 6)
C2 = D(2025, 3, 3)
C3 = D(2025, 4, 28)
LAST_SSA = D(2024, 11, 27)  # the builder's last long-acting injection, 40 days before C1
REASON = "Patient away: booked outside the window after a call with the specialist."


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC), tick=False)


@pytest.fixture
def course(time_machine, centre, oncologist, specialist, navigator):
    move(time_machine, D(2024, 12, 17))
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


def cycle(course, number: int) -> Cycle:
    return Cycle.objects.get(course=course, number=number)


def give_cycle(course, number, day, *, specialist, navigator, time_machine,
               lar_at: dt.datetime | None = None, precautions: bool = False):
    """Labs two days before `day`, ready, approved, then given at 10:00 on `day` with the LAR at
    16:00 (or at `lar_at`); time is left at 17:00 UTC on the later of the two days."""
    labs_day = day - days(2)
    move(time_machine, labs_day)
    enter_labs(specialist, course.patient, labs_day)
    ready = services.cycle_refresh(cycle=cycle(course, number), today=labs_day)
    assert ready.state == CycleState.READY, ready.missing
    services.cycle_decide(actor=specialist, cycle=ready, decision="approve",
                          activity_gbq=Decimal("7.4"), today=labs_day)
    lar_at = lar_at or at(day, 16)
    move(time_machine, max(day, lar_at.date()), 17)
    return services.cycle_administer(
        actor=navigator, cycle=cycle(course, number), administered_at=at(day, 10),
        activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True, lar_injected_at=lar_at,
        precautions_given=precautions)


def refused(exc_info) -> str:
    return exc_info.value.field


# --- the interval after the previous dose -------------------------------------------------------

PREVIOUS = ["given late", "planned", "booked"]


def previous_dose(how: str, course, *, specialist, navigator, time_machine, capture) -> dt.date:
    """Cycle 1 given two days late (8 Jan; its planned_date stays 6 Jan), left as planned
    (6 Jan), or booked three days late (9 Jan): the day cycle 2 is counted from."""
    if how == "given late":
        with capture(execute=True):
            give_cycle(course, 1, C1 + days(2), specialist=specialist, navigator=navigator,
                       time_machine=time_machine)
        assert cycle(course, 1).planned_date == C1  # the dose counts, not the plan
        return C1 + days(2)
    if how == "booked":
        with capture(execute=True):
            cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=C1 + days(3))
        assert cycle(course, 1).planned_date == C1 + days(3)
        return C1 + days(3)
    return C1


@pytest.mark.parametrize("how", PREVIOUS)
@pytest.mark.parametrize(("gap", "inside"), [(48, False), (49, True), (56, True), (63, True),
                                             (64, False)])
def test_outside_49_to_63_days_a_reason_is_required(
        course, navigator, specialist, time_machine, django_capture_on_commit_callbacks,
        how, gap, inside):
    previous = previous_dose(how, course, specialist=specialist, navigator=navigator,
                             time_machine=time_machine, capture=django_capture_on_commit_callbacks)
    day = previous + days(gap)
    c2 = cycle(course, 2)
    if not inside:
        with pytest.raises(TransitionInvalid) as exc:
            cycle_book(actor=navigator, cycle=c2, booked_date=day)
        assert refused(exc) == "reason"
        assert f"{gap} days after" in exc.value.message
        what = "the previous dose" if how == "given late" else "cycle 1's planned day"
        assert what in exc.value.message
        assert cycle(course, 2).booked_date is None
        assert not CourseEvent.objects.filter(cycle=c2, transition__in=["book", "rebook"])
        return
    result = cycle_book(actor=navigator, cycle=c2, booked_date=day)
    assert result.warnings == []
    booked = cycle(course, 2)
    assert (booked.booked_date, booked.booked_outside_interval, booked.booked_reason) == (
        day, False, "")


@pytest.mark.parametrize("how", PREVIOUS)
@pytest.mark.parametrize(("gap", "marked"), [(48, True), (49, False), (63, False), (64, True)])
def test_with_a_reason_outside_the_window_is_booked_and_marked(
        course, navigator, specialist, time_machine, django_capture_on_commit_callbacks,
        how, gap, marked):
    previous = previous_dose(how, course, specialist=specialist, navigator=navigator,
                             time_machine=time_machine, capture=django_capture_on_commit_callbacks)
    day = previous + days(gap)
    result = cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=day,
                        reason=f"  {REASON}  ")
    booked = cycle(course, 2)
    assert (booked.booked_date, booked.booked_outside_interval, booked.booked_reason) == (
        day, marked, REASON)
    if marked:
        assert len(result.warnings) == 1
        assert f"{gap} days after" in result.warnings[0]
        assert REASON in result.warnings[0]
    else:
        assert result.warnings == []


def test_a_blank_reason_is_no_reason(course, navigator):
    with pytest.raises(TransitionInvalid) as exc:
        cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=C1 + days(48),
                   reason="   \n ")
    assert refused(exc) == "reason"


# --- the SSA washout ----------------------------------------------------------------------------

BOOKED_C1 = C1 + days(4)  # cycle 1 rebooked to 10 Jan 2025


def last_injection(source: str, course, day: dt.date, navigator) -> None:
    patient = course.patient
    if source == "patient record":
        Patient.objects.filter(pk=patient.pk).update(last_long_acting_ssa_on=day)
    else:  # an injection row only: the patient's own date stays at 27 Nov
        SSAInjection.objects.create(patient=patient, agent=source, given_at=at(day, 10),
                                    recorded_by=navigator)


WASHOUT = [(27, "refused"), (28, "warned"), (29, "warned"), (30, "clear"), (31, "clear")]


def washout_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if "long-acting SSA" in w]


@pytest.mark.parametrize("source", ["patient record", "octreotide_lar", "lanreotide"])
@pytest.mark.parametrize(("gap", "expected"), WASHOUT)
def test_long_acting_ssa_washout_before_the_booked_day(course, navigator, source, gap,
                                                       expected):
    last_injection(source, course, BOOKED_C1 - days(gap), navigator)
    c1 = cycle(course, 1)
    if expected == "refused":
        with pytest.raises(TransitionInvalid) as exc:
            cycle_book(actor=navigator, cycle=c1, booked_date=BOOKED_C1, reason=REASON)
        assert refused(exc) == "booked_date"
        assert f"{BOOKED_C1 - days(gap) + days(28):%d %b %Y} or later" in exc.value.message
        assert cycle(course, 1).booked_date is None
        return
    result = cycle_book(actor=navigator, cycle=c1, booked_date=BOOKED_C1)
    assert cycle(course, 1).booked_date == BOOKED_C1
    if expected == "warned":
        assert len(result.warnings) == 1
        assert washout_warnings(result.warnings) == result.warnings
        assert f"{gap} days before" in result.warnings[0]
    else:
        assert result.warnings == []


def test_a_short_acting_injection_is_no_washout_concern(course, navigator):
    SSAInjection.objects.create(patient=course.patient, agent="octreotide_sc",
                                given_at=at(BOOKED_C1 - days(27), 10), recorded_by=navigator)
    result = cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=BOOKED_C1)
    assert result.warnings == []


@pytest.mark.parametrize(("gap", "expected"), WASHOUT)
def test_washout_counts_from_the_lar_given_after_the_previous_dose(
        course, navigator, specialist, time_machine, gap, expected):
    # Cycle 1 on 6 Jan, its octreotide LAR at 09:00 the next morning (23 h later): the washout
    # before cycle 2 counts from 7 Jan, not from the infusion day.
    lar_day = C1 + days(1)
    give_cycle(course, 1, C1, specialist=specialist, navigator=navigator,
               time_machine=time_machine, lar_at=at(lar_day, 9))
    day = lar_day + days(gap)  # 28-32 days after cycle 1: outside the window, with a reason
    c2 = cycle(course, 2)
    if expected == "refused":
        with pytest.raises(TransitionInvalid) as exc:
            cycle_book(actor=navigator, cycle=c2, booked_date=day, reason=REASON)
        assert refused(exc) == "booked_date"
        assert cycle(course, 2).booked_date is None
        return
    result = cycle_book(actor=navigator, cycle=c2, booked_date=day, reason=REASON)
    assert cycle(course, 2).booked_outside_interval is True
    assert len(washout_warnings(result.warnings)) == (1 if expected == "warned" else 0)


# --- the pre-dose labs window -------------------------------------------------------------------


def draw(actor, patient, day: dt.date, analytes) -> None:
    for analyte in analytes:
        value, unit = NORMAL[analyte]
        lab_result_add(actor=actor, patient=patient, analyte=analyte, value=value, unit=unit,
                       collected_at=at(day, 8), uln="1.2" if analyte == "bilirubin" else None)


PANEL = ["hemoglobin", "neutrophils", "creatinine", "bilirubin", "albumin"]


@pytest.mark.parametrize(("panel_day", "platelets_day", "booked", "warned"), [
    pytest.param(C1 - days(3), C1 - days(3), C1 + days(11), False, id="14 days"),
    pytest.param(C1 - days(3), C1 - days(3), C1 + days(12), True, id="15 days"),
    pytest.param(C1 - days(14), C1 - days(14), C1, False, id="window start, planned day"),
    pytest.param(C1 - days(14), C1 - days(14), C1 + days(1), True, id="window start, a day on"),
    pytest.param(C1 - days(3), C1 - days(14), C1, False, id="one older value, 14 days"),
    pytest.param(C1 - days(3), C1 - days(14), C1 + days(1), True, id="one older value, 15"),
])
def test_labs_drawn_more_than_14_days_before_the_new_day_are_to_be_repeated(
        course, navigator, specialist, time_machine, panel_day, platelets_day, booked, warned):
    move(time_machine, C1 - days(3), 12)
    draw(specialist, course.patient, panel_day, PANEL)
    draw(specialist, course.patient, platelets_day, ["platelets"])
    result = cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=booked)
    if warned:
        oldest = min(panel_day, platelets_day)
        assert len(result.warnings) == 1
        assert f"Labs drawn on {oldest:%d %b %Y}" in result.warnings[0]
        assert "repeat them" in result.warnings[0]
    else:
        assert result.warnings == []


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("tz", "utc_hour", "day", "accepted"), [
    ("Europe/London", 9, D(2024, 12, 16), False),
    ("Europe/London", 9, D(2024, 12, 17), True),  # today
    # 12:00 UTC is already 18 Dec in Auckland: the centre's day counts, not the server's.
    ("Pacific/Auckland", 12, D(2024, 12, 17), False),
    ("Pacific/Auckland", 12, D(2024, 12, 18), True),
])
def test_never_in_the_past_by_the_centres_calendar(course, navigator, time_machine, tz,
                                                   utc_hour, day, accepted):
    Patient.objects.filter(pk=course.patient_id).update(last_long_acting_ssa_on=D(2024, 10, 1))
    course.centre.time_zone = tz
    course.centre.save(update_fields=["time_zone"])
    move(time_machine, D(2024, 12, 17), utc_hour)
    if accepted:
        cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=day)
        assert cycle(course, 1).booked_date == day
        return
    with pytest.raises(TransitionInvalid) as exc:
        cycle_book(actor=navigator, cycle=cycle(course, 1), booked_date=day, reason=REASON)
    assert refused(exc) == "booked_date"
    assert "in the past" in exc.value.message


@pytest.mark.parametrize(("how", "offset", "accepted"), [
    ("planned", -1, False),
    ("planned", 0, False),
    ("planned", 1, True),  # a day after, with a reason: the window rule, not this one
    ("given late", 0, False),
])
def test_never_on_or_before_the_previous_dose(course, navigator, specialist, time_machine,
                                              django_capture_on_commit_callbacks, how, offset,
                                              accepted):
    previous = previous_dose(how, course, specialist=specialist, navigator=navigator,
                             time_machine=time_machine, capture=django_capture_on_commit_callbacks)
    day = previous + days(offset)
    if accepted:
        cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=day, reason=REASON)
        assert cycle(course, 2).booked_outside_interval is True
        return
    with pytest.raises(TransitionInvalid) as exc:
        cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=day, reason=REASON)
    assert refused(exc) == "booked_date"
    assert "is not after" in exc.value.message
    assert cycle(course, 2).booked_date is None


def test_the_day_must_be_a_date(course, navigator):
    with pytest.raises(TransitionInvalid) as exc:
        cycle_book(actor=navigator, cycle=cycle(course, 1),
                   booked_date=dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC))
    assert refused(exc) == "booked_date"


@pytest.mark.parametrize("who", ["oncologist", "outside_navigator", "outside_specialist",
                                 "administrator", None])
def test_only_the_centres_team_books(course, request, who):
    actor = request.getfixturevalue(who) if who else None
    with pytest.raises(TransitionForbidden):
        cycle_book(actor=actor, cycle=cycle(course, 1), booked_date=C1)
    assert cycle(course, 1).booked_date is None
    assert not CourseEvent.objects.filter(course=course, transition="book").exists()


@pytest.mark.parametrize("who", ["navigator", "specialist"])
def test_the_centres_navigator_and_specialist_book(course, request, who):
    actor = request.getfixturevalue(who)
    cycle_book(actor=actor, cycle=cycle(course, 1), booked_date=C1)
    assert CourseEvent.objects.get(course=course, transition="book").actor == actor


@pytest.mark.parametrize("state", ["administered", "completed", "cancelled"])
def test_a_given_or_cancelled_cycle_cannot_be_booked(course, navigator, specialist,
                                                     time_machine, state):
    if state == "cancelled":
        services.course_discontinue(actor=specialist, course=course, reason="Patient's choice.")
    else:
        give_cycle(course, 1, C1, specialist=specialist, navigator=navigator,
                   time_machine=time_machine)
        if state == "completed":
            services.course_refresh(course=course, today=C1 + days(8))
    target = cycle(course, 1)
    assert target.state == state
    with pytest.raises(TransitionConflict):
        cycle_book(actor=navigator, cycle=target, booked_date=C1 + days(30), reason=REASON)
    assert cycle(course, 1).booked_date is None


# --- booking and rebooking move the plan --------------------------------------------------------


@pytest.mark.parametrize(("day", "reason"), [
    (C2, ""),
    (C1 + days(49), ""),
    (C1 + days(63), ""),
    (C1 + days(70), REASON),
])
def test_booking_moves_the_cycle_and_every_later_cycle_56_days_from_it(
        course, navigator, django_capture_on_commit_callbacks, day, reason):
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=day,
                   booked_time=dt.time(9, 30), place="  Day unit, room 4 ", reason=reason)
    c2 = cycle(course, 2)
    assert (c2.booked_date, c2.planned_date, c2.booked_time, c2.booked_place) == (
        day, day, dt.time(9, 30), "Day unit, room 4")
    assert cycle(course, 1).planned_date == C1
    assert cycle(course, 3).planned_date == day + days(56)
    assert cycle(course, 4).planned_date == day + days(112)
    assert (cycle(course, 3).due_date, cycle(course, 4).due_date) == (day + days(56),
                                                                      day + days(112))
    infusions = {t.cycle: t.due for t in CareTask.objects.filter(course=course,
                                                                 kind=TaskKind.INFUSION)}
    assert infusions == {1: C1, 2: day, 3: day + days(56), 4: day + days(112)}


def test_each_booking_writes_a_course_event_and_an_audit_row(
        course, navigator, specialist, django_capture_on_commit_callbacks):
    c2 = cycle(course, 2)
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=c2, booked_date=D(2025, 3, 5))
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=specialist, cycle=c2, booked_date=D(2025, 3, 7), reason="Slot moved.")
    events = list(CourseEvent.objects.filter(cycle=c2, transition__in=["book", "rebook"])
                  .order_by("id"))
    assert [(e.transition, e.actor) for e in events] == [("book", navigator),
                                                          ("rebook", specialist)]
    assert "05 Mar 2025" in events[0].reason and "07 Mar 2025" in events[1].reason
    assert "Slot moved." in events[1].reason
    assert all(e.source == e.target == c2.state for e in events)
    rows = list(AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE,
                                          object_type="prrt.Cycle",
                                          object_id=str(c2.external_id)).order_by("id"))
    assert [(r.actor, r.changes["booked_date"]) for r in rows] == [
        (navigator, [None, "2025-03-05"]), (specialist, ["2025-03-05", "2025-03-07"])]
    assert rows[0].patient_id == course.patient.external_id
    c2.refresh_from_db()
    assert (c2.planned_date, cycle(course, 3).planned_date) == (D(2025, 3, 7), D(2025, 5, 2))


def book_later(course, navigator, capture, number: int, day: dt.date, reason: str = ""):
    with capture(execute=True):
        cycle_book(actor=navigator, cycle=cycle(course, number), booked_date=day,
                   booked_time=dt.time(10), place="Room 2", reason=reason)


@pytest.mark.parametrize(("c2_day", "reason", "gap", "released"), [
    (D(2025, 3, 10), "", 49, False),
    (D(2025, 3, 11), REASON, 48, True),
    (D(2025, 2, 24), "", 63, False),
    (D(2025, 2, 23), REASON, 64, True),
])
def test_a_later_booking_left_outside_its_window_is_released(
        course, navigator, django_capture_on_commit_callbacks, c2_day, reason, gap, released):
    book_later(course, navigator, django_capture_on_commit_callbacks, 3, C3)
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=c2_day,
                            reason=reason)
    c3 = cycle(course, 3)
    release = [w for w in result.warnings if "released" in w]
    if not released:
        assert release == []
        assert (c3.booked_date, c3.planned_date) == (C3, C3)
        assert cycle(course, 4).planned_date == C3 + days(56)
        return
    assert release == [f"Cycle 3's booking of 28 Apr 2025 was released ({gap} days after "
                       "cycle 2): book it again."]
    assert (c3.booked_date, c3.booked_time, c3.booked_place) == (None, None, "")
    assert c3.planned_date == c2_day + days(56)
    assert cycle(course, 4).planned_date == c2_day + days(112)
    event = CourseEvent.objects.get(cycle=c3, transition="release_booking")
    assert event.actor == navigator and "28 Apr 2025" in event.reason
    audit = AuditEvent.objects.filter(object_type="prrt.Cycle", object_id=str(c3.external_id),
                                      action=AuditEvent.Action.UPDATE).order_by("-id").first()
    assert audit.changes["booked_date"] == ["2025-04-28", None]


def test_releases_follow_the_chain_of_later_cycles(course, navigator,
                                                   django_capture_on_commit_callbacks):
    # Cycles 3 and 4 booked on their planned days (28 Apr, 23 Jun). Cycle 2 moves to 11 Mar:
    # cycle 3's booking is 48 days after it and is released; cycle 3 is then planned on 6 May,
    # so cycle 4's booking is 48 days after that and goes too.
    book_later(course, navigator, django_capture_on_commit_callbacks, 3, C3)
    book_later(course, navigator, django_capture_on_commit_callbacks, 4, C3 + days(56))
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=D(2025, 3, 11),
                            reason=REASON)
    assert [w for w in result.warnings if "released" in w] == [
        "Cycle 3's booking of 28 Apr 2025 was released (48 days after cycle 2): book it again.",
        "Cycle 4's booking of 23 Jun 2025 was released (48 days after cycle 3): book it again.",
    ]
    assert (cycle(course, 3).booked_date, cycle(course, 4).booked_date) == (None, None)
    assert (cycle(course, 3).planned_date, cycle(course, 4).planned_date) == (
        D(2025, 5, 6), D(2025, 7, 1))


def test_a_kept_later_booking_anchors_the_next_one(course, navigator,
                                                   django_capture_on_commit_callbacks):
    # Cycle 3 stays (49 days after the new cycle 2); cycle 4's booking is checked against it.
    book_later(course, navigator, django_capture_on_commit_callbacks, 3, C3)
    book_later(course, navigator, django_capture_on_commit_callbacks, 4, C3 + days(63))
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=D(2025, 3, 10))
    assert result.warnings == []
    assert (cycle(course, 3).booked_date, cycle(course, 4).booked_date) == (C3, C3 + days(63))


@pytest.mark.parametrize(("c2_day", "kept"), [
    (D(2025, 3, 2), True),  # 65 days before it: still outside, as booked with its reason
    (D(2025, 5, 6), False),  # the same day
    (D(2025, 5, 7), False),  # after it
])
def test_a_later_booking_made_outside_the_window_never_stays_on_or_before_the_previous(
        course, navigator, django_capture_on_commit_callbacks, c2_day, kept):
    book_later(course, navigator, django_capture_on_commit_callbacks, 3, D(2025, 5, 6), REASON)
    assert cycle(course, 3).booked_outside_interval is True  # 64 days after 3 Mar
    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=c2_day,
                            reason=REASON)
    c3 = cycle(course, 3)
    if kept:
        assert c3.booked_date == D(2025, 5, 6)
        return
    assert c3.booked_date is None
    assert c3.planned_date == c2_day + days(56)
    assert any("Cycle 3's booking of 06 May 2025 was released" in w for w in result.warnings)


# --- a withheld cycle ---------------------------------------------------------------------------


def withhold_cycle_2(course, specialist, navigator, time_machine, capture, *,
                     booked_before: dt.date | None = None):
    """Cycle 1 given on 6 Jan; platelets 60 before cycle 2, which the specialist withholds on
    3 Mar (09:00 UTC); optionally cycle 2 was booked the day before."""
    with capture(execute=True):
        give_cycle(course, 1, C1, specialist=specialist, navigator=navigator,
                   time_machine=time_machine)
    if booked_before is not None:
        move(time_machine, D(2025, 3, 2))
        with capture(execute=True):
            cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=booked_before)
    move(time_machine, C2)
    enter_labs(specialist, course.patient, D(2025, 2, 27), platelets=("60", "10^9/L"))
    c2 = services.cycle_refresh(cycle=cycle(course, 2), today=C2)
    with capture(execute=True):
        services.cycle_decide(actor=specialist, cycle=c2, decision="withhold",
                              categories=["thrombocytopenia"], today=C2, reason="Platelets 60.")
    assert cycle(course, 2).state == CycleState.WITHHELD


RECHECK = C2 + days(14)


def rebook_task(course) -> CareTask:
    return CareTask.objects.get(course=course, kind=TaskKind.REBOOK_CYCLE, cycle=2)


def test_booking_a_withheld_cycle_closes_its_rebook_task(course, specialist, navigator,
                                                         time_machine,
                                                         django_capture_on_commit_callbacks):
    withhold_cycle_2(course, specialist, navigator, time_machine,
                     django_capture_on_commit_callbacks)
    task = rebook_task(course)
    assert (task.state, task.earliest, task.due, task.latest) == (
        TaskState.OPEN, RECHECK, RECHECK, RECHECK + days(7))
    assert cycle(course, 2).planned_date == RECHECK

    move(time_machine, C2, 11)  # after the decision
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=D(2025, 3, 20),
                   reason="Withheld for platelets: rebooked after the recheck.")
    task.refresh_from_db()
    c2 = cycle(course, 2)
    assert c2.planned_date == D(2025, 3, 20)
    assert (task.state, task.done_by, task.fulfilled_by) == (
        TaskState.DONE, None, f"prrt.Cycle:{c2.external_id}")
    assert task.done_at is not None
    closing = CareTaskEvent.objects.get(task=task, transition="complete")
    assert (closing.actor, closing.source, closing.target) == (None, TaskState.OPEN,
                                                               TaskState.DONE)


def test_a_booking_from_before_the_withhold_does_not_close_the_rebook_task(
        course, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    withhold_cycle_2(course, specialist, navigator, time_machine,
                     django_capture_on_commit_callbacks, booked_before=D(2025, 3, 5))
    task = rebook_task(course)
    assert task.state == TaskState.OPEN
    # The old booking no longer stands: the cycle waits for its recheck day.
    assert cycle(course, 2).planned_date == RECHECK

    move(time_machine, C2, 11)
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=cycle(course, 2), booked_date=RECHECK,
                   reason="Withheld for platelets: rebooked at the recheck.")
    task.refresh_from_db()
    assert (task.state, task.done_by) == (TaskState.DONE, None)
    assert CourseEvent.objects.filter(cycle=cycle(course, 2), transition="rebook").exists()
