"""A PRRT course run through its four cycles for the course-letter tests, time frozen at each
step: cycle 1 at 7.4 GBq, cycle 2 withheld for thrombocytopenia and given at 3.7 GBq three weeks
late, cycles 3 and 4 at 7.4 GBq, and a grade 1 adverse event after cycle 1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from coordinators.plan import plan_sync
from patients.services import adverse_event_report
from prrt import services
from prrt.models import Cycle
from tests.prrt.builders import approved_course, enter_labs, give

C1 = dt.date(2025, 1, 6)
C2_DUE = dt.date(2025, 3, 3)
C2_GIVEN = dt.date(2025, 3, 24)
C3_GIVEN = C2_GIVEN + dt.timedelta(days=56)
C4_GIVEN = C3_GIVEN + dt.timedelta(days=56)
WITHHOLD_REASON = "Platelets 74 before cycle 2: withheld until they recover."
REDUCED_REASON = "Platelets recovered to 98: resume at the reduced activity."


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC), tick=False)


def started_course(*, centre, oncologist, specialist, navigator, time_machine):
    """Approved 20 days before cycle 1; cycle 1 given at 7.4 GBq on C1; the plan synced."""
    move(time_machine, C1 - dt.timedelta(days=20))
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    _give_cycle(course, 1, C1, specialist, navigator, time_machine)
    return course


def _give_cycle(course, number: int, day: dt.date, specialist, navigator, time_machine,
                activity: str = "7.4", reason: str = "") -> None:
    """Labs two days before, ready, approved, given on `day` (with LAR), plan synced."""
    labs_day = day - dt.timedelta(days=2)
    move(time_machine, labs_day)
    enter_labs(specialist, course.patient, labs_day)
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=number), today=labs_day)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal(activity), today=labs_day, reason=reason)
    move(time_machine, day, 17)
    give(navigator, course.cycles.get(number=number), day, activity=activity)
    plan_sync(course=course)


def finished_course(*, centre, oncologist, specialist, navigator, time_machine):
    """All four cycles given; time is left at 17:00 UTC on the day of cycle 4."""
    course = started_course(centre=centre, oncologist=oncologist, specialist=specialist,
                            navigator=navigator, time_machine=time_machine)
    move(time_machine, C1 + dt.timedelta(days=2))
    adverse_event_report(actor=oncologist, patient=course.patient, term="Nausea",
                         category="other", ctcae_grade=1, onset_on=C1 + dt.timedelta(days=1),
                         related_to_treatment=True)

    # Cycle 2: platelets 74 on its due day -> withheld; 98 three weeks later -> 3.7 GBq.
    move(time_machine, C2_DUE)
    enter_labs(specialist, course.patient, C2_DUE - dt.timedelta(days=3),
               platelets=("74", "10^9/L"))
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=2), today=C2_DUE)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="withhold",
                          categories=["thrombocytopenia"], reason=WITHHOLD_REASON,
                          today=C2_DUE)
    move(time_machine, C2_GIVEN)
    Cycle.objects.filter(course=course, number=2).update(planned_date=C2_GIVEN)
    enter_labs(specialist, course.patient, C2_GIVEN, platelets=("98", "10^9/L"))
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=2), today=C2_GIVEN)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("3.7"), reason=REDUCED_REASON, today=C2_GIVEN)
    move(time_machine, C2_GIVEN, 17)
    give(navigator, course.cycles.get(number=2), C2_GIVEN, activity="3.7")
    plan_sync(course=course)

    for number, day in ((3, C3_GIVEN), (4, C4_GIVEN)):
        Cycle.objects.filter(course=course, number=number).update(planned_date=day)
        _give_cycle(course, number, day, specialist, navigator, time_machine)
    course.refresh_from_db()
    return course
