"""One course from approval to the referral back, through the services, with time moved: C1,
C2 withheld for platelets 60, rebooked 14 days later, C2 at 3.7 GBq, C3 re-escalated, C4, the
course completed by NETcare, the letter sent by the navigator, the follow-up with the practice.

After every step the plan must be true: no open overdue task whose obligation the record already
meets, one date per obligation on every view, cycles never closer than 49 days without a
recorded reason, and the referring oncologist's obligations only real ones.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

import pytest

from coordinators import letters
from coordinators.contacts import contact_log_add
from coordinators.fulfilment import load_records, obligation_met
from coordinators.models import CareTask, CareTaskEvent, OwnerParty, TaskKind, TaskState
from coordinators.plan import plan_sync
from coordinators.selectors import tasks_held_by
from netcare.clock import centre_today
from patients.services import imaging_add
from prrt import services
from prrt.bookings import cycle_book
from prrt.injections import ssa_injection_record
from prrt.instructions import instructions_for
from prrt.models import CourseState, CycleState
from prrt.schedule import course_plan_events, infusion_days
from referrals.models import ReferralEvent, ReferralState
from tests.prrt.builders import at, enter_labs, give

D = dt.date
UTC = dt.UTC

pytestmark = pytest.mark.django_db


@pytest.fixture
def walk(course, time_machine, django_capture_on_commit_callbacks):
    """Move the clock to `moment` and run what follows with its on-commit handlers executed."""
    @contextmanager
    def at_time(moment: dt.datetime):
        time_machine.move_to(moment, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            yield
    return at_time


def check_plan_is_true(course, *, client=None, oncologist=None) -> None:
    course.refresh_from_db()
    today = centre_today(course.centre)
    records = load_records(course)
    open_tasks = list(CareTask.objects.filter(course=course, state=TaskState.OPEN))
    met_but_open = [(t.title, obligation_met(t, records)) for t in open_tasks
                    if t.due < today and obligation_met(t, records) is not None]
    assert met_but_open == [], f"open overdue tasks the record already meets: {met_but_open}"

    # One plan: cycles, infusion tasks and the rules' plan agree on every infusion day.
    days = infusion_days(course_plan_events(course))
    for cycle in course.cycles.exclude(state=CycleState.CANCELLED):
        infusion = CareTask.objects.filter(course=course, kind=TaskKind.INFUSION,
                                           cycle=cycle.number).first()
        if cycle.state in (CycleState.ADMINISTERED, CycleState.COMPLETED):
            assert infusion.state == TaskState.DONE
            continue
        assert cycle.planned_date == days[cycle.number]
        if infusion is not None and infusion.state == TaskState.OPEN:
            assert infusion.due == cycle.planned_date, cycle
    ordered = sorted(days.items())
    for (n1, d1), (n2, d2) in zip(ordered, ordered[1:], strict=False):
        booked = course.cycles.get(number=n2)
        assert (d2 - d1).days >= 49 or (booked.booked_outside_interval
                                        and booked.booked_reason), (n1, d1, n2, d2)

    if client is not None:
        client.force_login(client.navigator)  # sessions expire as the clock moves on
        response = client.get(f"/prrt/courses/{course.external_id}/")
        assert response.status_code == 200
        page = response.content.decode()
        for cycle in course.cycles.filter(state__in=["planned", "ready", "approved",
                                                     "withheld"]):
            assert f"{cycle.planned_date.day} {cycle.planned_date:%b %Y}" in page, cycle

    if oncologist is not None:
        held = list(tasks_held_by(oncologist).filter(course=course))
        assert all(t.state == TaskState.OPEN for t in held)
        assert all(obligation_met(t, records) is None or t.due >= today for t in held)


def task(course, kind, cycle=0, sequence=1) -> CareTask:
    return CareTask.objects.get(course=course, kind=kind, cycle=cycle, sequence=sequence)


def test_a_whole_course_with_a_withhold_keeps_the_plan_true(
        course, walk, specialist, navigator, oncologist, client):
    client.navigator = navigator
    patient = course.patient
    with walk(dt.datetime(2024, 12, 17, 10, tzinfo=UTC)):
        plan_sync(course=course)
    # The washout was met when the course opened (last injection 40 days before C1): done by
    # NETcare, never overdue.
    washout = task(course, TaskKind.SSA_WASHOUT_CHECK, 1)
    assert washout.state == TaskState.DONE and washout.done_by is None
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # Cycle 1: labs, then ready at once (no hourly sweep), approved, given.
    with walk(dt.datetime(2025, 1, 4, 9, tzinfo=UTC)):
        enter_labs(navigator, patient, D(2025, 1, 4))
    assert course.cycles.get(number=1).state == CycleState.READY
    labs = task(course, TaskKind.PRE_DOSE_LABS, 1)
    assert labs.state == TaskState.DONE and labs.fulfilled_by.startswith("patients.LabResult:")
    with walk(dt.datetime(2025, 1, 5, 9, tzinfo=UTC)):
        services.cycle_decide(actor=specialist, cycle=course.cycles.get(number=1),
                              decision="approve", activity_gbq=Decimal("7.4"),
                              today=D(2025, 1, 5))
    with walk(dt.datetime(2025, 1, 6, 17, tzinfo=UTC)):
        give(navigator, course.cycles.get(number=1), D(2025, 1, 6), precautions_given=True)
    for kind in (TaskKind.INFUSION, TaskKind.LAR_INJECTION, TaskKind.RADIATION_SAFETY_EDUCATION):
        assert task(course, kind, 1).state == TaskState.DONE, kind
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # The navigator's check-in call closes the check-in task.
    with walk(dt.datetime(2025, 1, 8, 11, tzinfo=UTC)):
        contact_log_add(actor=navigator, patient=patient, kind="call", party="patient",
                        occurred_at=at(D(2025, 1, 8), 11), summary="Precautions followed, well.")
        services.course_refresh(course=course)
    assert task(course, TaskKind.RADIATION_SAFETY_CHECKIN, 1).state == TaskState.DONE
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # Cycle 2: platelets 60, withheld on its day; a rebook task from the recheck day.
    with walk(dt.datetime(2025, 2, 27, 9, tzinfo=UTC)):
        enter_labs(navigator, patient, D(2025, 2, 27), platelets=("60", "10^9/L"))
    with walk(dt.datetime(2025, 3, 3, 9, tzinfo=UTC)):
        services.cycle_decide(actor=specialist, cycle=course.cycles.get(number=2),
                              decision="withhold", categories=["thrombocytopenia"],
                              today=D(2025, 3, 3))
    c2 = course.cycles.get(number=2)
    assert c2.state == CycleState.WITHHELD and c2.planned_date == D(2025, 3, 17)
    rebook = task(course, TaskKind.REBOOK_CYCLE, 2)
    assert (rebook.state, rebook.due) == (TaskState.OPEN, D(2025, 3, 17))
    assert task(course, TaskKind.INFUSION, 3).due == D(2025, 5, 12)
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # Rebooked 14 days after the withhold: outside 49-63 days, so with a reason, and marked.
    with walk(dt.datetime(2025, 3, 10, 9, tzinfo=UTC)):
        result = cycle_book(actor=navigator, cycle=c2, booked_date=D(2025, 3, 17),
                            booked_time=dt.time(9, 30), place="Infusion room 2",
                            reason="Withheld two weeks for thrombocytopenia.")
    assert any("70 days" in w for w in result.warnings)
    c2.refresh_from_db()
    assert (c2.booked_outside_interval, c2.planned_date) == (True, D(2025, 3, 17))
    rebook.refresh_from_db()
    assert rebook.state == TaskState.DONE and rebook.done_by is None
    # The booked time and room are the infusion task's appointment (caseload, calendar feed).
    infusion_c2 = task(course, TaskKind.INFUSION, 2)
    assert infusion_c2.appointment_at == at(D(2025, 3, 17), 9).replace(minute=30)
    assert infusion_c2.appointment_place == "Infusion room 2"
    assert [e.due for e in CareTask.objects.filter(
        course=course, kind=TaskKind.INFUSION, cycle__gte=2).order_by("cycle")] == [
        D(2025, 3, 17), D(2025, 5, 12), D(2025, 7, 7)]
    # The printed instructions of cycle 1 list the same next infusion day.
    instructions = instructions_for(course.cycles.get(number=1), today=D(2025, 3, 10))
    assert D(2025, 3, 17) in [e.due for e in instructions.appointments
                              if e.kind == "infusion"]
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # Platelets 98: ready again; the specialist approves 3.7 GBq; given on the booked day.
    with walk(dt.datetime(2025, 3, 14, 9, tzinfo=UTC)):
        enter_labs(navigator, patient, D(2025, 3, 14), platelets=("98", "10^9/L"))
    assert course.cycles.get(number=2).state == CycleState.READY
    # The withhold asked for the labs again before the new day; these close that task.
    assert task(course, TaskKind.PRE_DOSE_LABS, 2, 2).state == TaskState.DONE
    with walk(dt.datetime(2025, 3, 16, 9, tzinfo=UTC)):
        services.cycle_decide(actor=specialist, cycle=course.cycles.get(number=2),
                              decision="approve", activity_gbq=Decimal("3.7"),
                              today=D(2025, 3, 16))
    c2.refresh_from_db()
    assert c2.planned_date == D(2025, 3, 17)  # the approval keeps the booked day
    assert task(course, TaskKind.INFUSION, 2).due == D(2025, 3, 17)
    with walk(dt.datetime(2025, 3, 17, 17, tzinfo=UTC)):
        give(navigator, course.cycles.get(number=2), D(2025, 3, 17), activity="3.7",
             precautions_given=True)
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # The first CT: recorded, its task closes.
    with walk(dt.datetime(2025, 4, 4, 12, tzinfo=UTC)):
        imaging_add(actor=navigator, patient=patient, modality="ct",
                    performed_on=D(2025, 4, 4))
    assert task(course, TaskKind.IMAGING, 0, 1).state == TaskState.DONE

    # Cycle 3, re-escalated to 7.4 GBq, and cycle 4.
    for number, day in ((3, D(2025, 5, 12)), (4, D(2025, 7, 7))):
        assert course.cycles.get(number=number).planned_date == day
        with walk(dt.datetime.combine(day - dt.timedelta(days=3), dt.time(9), tzinfo=UTC)):
            enter_labs(navigator, patient, day - dt.timedelta(days=3),
                       platelets=("88", "10^9/L") if number == 3 else ("180", "10^9/L"))
        with walk(dt.datetime.combine(day - dt.timedelta(days=1), dt.time(9), tzinfo=UTC)):
            decision = services.cycle_decide(actor=specialist,
                                             cycle=course.cycles.get(number=number),
                                             decision="approve", activity_gbq=Decimal("7.4"),
                                             today=day - dt.timedelta(days=1))
            assert decision.follows_recommendation, decision.recommended_action
        with walk(dt.datetime.combine(day, dt.time(17), tzinfo=UTC)):
            give(navigator, course.cycles.get(number=number), day, precautions_given=True)
        check_plan_is_true(course, client=client, oncologist=oncologist)

    # After the last precaution window NETcare completes the course; nobody is referred back
    # by the system; the navigator's task to send the letter is there.
    with walk(dt.datetime(2025, 7, 15, 9, tzinfo=UTC)):
        services.course_refresh(course=course)
    course.refresh_from_db()
    assert course.state == CourseState.COMPLETED
    assert course.events.get(transition="complete", cycle__isnull=True).actor is None
    assert course.referral.state == ReferralState.IN_TREATMENT
    refer_back = task(course, TaskKind.REFERRAL_FOLLOW_UP)
    assert (refer_back.state, refer_back.earliest) == (TaskState.OPEN, D(2025, 7, 15))
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # The navigator sends the letter: referred back by the navigator, follow-up to the practice.
    with walk(dt.datetime(2025, 7, 16, 10, tzinfo=UTC)):
        letters.letter_prepare(actor=navigator, course=course)
        letter = letters.letter_send(actor=navigator, course=course)
    body = letter.body
    for text in ("3.7 GBq", "25.9 GBq", "thrombocytopenia", "17 Mar 2025"):
        assert text in body, text
    course.referral.refresh_from_db()
    assert course.referral.state == ReferralState.REFERRED_BACK
    assert ReferralEvent.objects.get(referral=course.referral,
                                     transition="refer_back").actor == navigator
    refer_back.refresh_from_db()
    assert refer_back.state == TaskState.DONE and refer_back.done_by is None
    follow_up = CareTask.objects.filter(
        course=course, state=TaskState.OPEN,
        kind__in=[TaskKind.POST_COURSE_LABS, TaskKind.LAR_MAINTENANCE, TaskKind.IMAGING,
                  TaskKind.SSTR_PET])
    assert follow_up.exists()
    assert set(follow_up.values_list("owner_party", flat=True)) == {OwnerParty.PRACTICE}
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # The practice gives the first maintenance LAR and draws the post-course labs: both close.
    with walk(dt.datetime(2025, 8, 4, 15, tzinfo=UTC)):
        ssa_injection_record(actor=oncologist, patient=patient, agent="octreotide_lar",
                             given_at=at(D(2025, 8, 4), 14), dose_mg=Decimal("30"))
    assert task(course, TaskKind.LAR_MAINTENANCE, 0, 1).state == TaskState.DONE
    with walk(dt.datetime(2025, 8, 11, 15, tzinfo=UTC)):
        enter_labs(oncologist, patient, D(2025, 8, 11))
    assert task(course, TaskKind.POST_COURSE_LABS).state == TaskState.DONE
    check_plan_is_true(course, client=client, oncologist=oncologist)

    # Nothing NETcare did is credited to a person.
    system_closed = CareTask.objects.filter(course=course, state=TaskState.DONE,
                                            done_by__isnull=True)
    assert system_closed.count() >= 15
    assert not CareTaskEvent.objects.filter(task__in=system_closed, transition="complete",
                                            actor__isnull=False).exists()
