"""Each figure against a seeded history whose answer is known by construction. The period is
January to June 2025 at the Riverside centre (Europe/London), today 15 July 2025. Figures with
quartiles run twice (`quartiles_in`): in PostgreSQL and in Python, as the embedded run does."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import figures, followup
from analytics.shapes import UnknownBar
from coordinators.models import OwnerParty, TaskKind
from network.models import EConsult
from tests.analytics.conftest import scope_of
from tests.analytics.history import TZ, at, days

pytestmark = pytest.mark.django_db

MARCH = dt.date(2025, 3, 3)
# Ten patients whose first dose fell in March 2025, the days from referral to first dose chosen
# so that percentile_cont gives Q1 = 35 (ranks 3 and 4), median = 42 (ranks 5 and 6) and
# Q3 = 50 (ranks 7 and 8) exactly.
TOTALS = [28, 30, 35, 35, 42, 42, 50, 50, 56, 60]
REVIEW, TO_CONSULT = 7, 14  # every one: accepted 7 days after referral, consult 14 days later


def values(figure, row: str, *keys: str) -> tuple:
    found = figure.row(row).values
    return tuple(found[key] for key in keys)


def first_dose_course(history, oncologist, dose_at: dt.datetime, total: int,
                      review: int = REVIEW, to_consult: int = TO_CONSULT):
    day = dose_at.astimezone(TZ).date()
    submitted = at(day - days(total), 9)
    accepted = at(day - days(total - review), 15)
    course = history.course(oncologist, submitted=submitted, accepted=accepted,
                            consult=at(day - days(total - review - to_consult), 11),
                            first_dose=day)
    history.give(history.cycle(course, 1, due=day), dose_at)
    return course


def test_referral_to_first_dose_per_month(history, elsewhere, oncologist, centre,
                                          quartiles_in):
    for i, total in enumerate(TOTALS):
        first_dose_course(history, oncologist, at(MARCH + days(i)), total)
    # 23:30 on 30 June in London (22:30 UTC) is June; 00:30 on 1 July (23:30 UTC) is not.
    first_dose_course(history, oncologist, dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC), 60)
    first_dose_course(history, oncologist, dt.datetime(2025, 6, 30, 23, 30, tzinfo=dt.UTC), 45)
    # Another centre's patient in March is not this centre's figure.
    first_dose_course(elsewhere, oncologist, at(MARCH), 100)
    # A referral submitted after its first dose (a record out of order) is left out of the
    # intervals that need it, not counted backwards.
    backwards = history.course(oncologist, submitted=at(dt.date(2025, 4, 20)),
                               accepted=at(dt.date(2025, 4, 21)))
    history.give(history.cycle(backwards, 1, due=dt.date(2025, 4, 10)),
                 at(dt.date(2025, 4, 10)))

    figure = figures.referral_to_first_dose(scope_of(centre))
    assert values(figure, "2025-03:total", "n", "median", "q1", "q3") == (10, 42, 35, 50)
    assert values(figure, "2025-03:review", "n", "median", "q1", "q3") == (10, 7, 7, 7)
    assert values(figure, "2025-03:consult", "n", "median") == (10, 14)
    # Consult to first dose: the totals less 21 days, [7, 9, 14, 14, 21, 21, 29, 29, 35, 39].
    assert values(figure, "2025-03:dose", "n", "median", "q1", "q3") == (10, 21, 14, 29)
    assert values(figure, "2025-06:total", "n", "median", "q1", "q3") == (1, 60, 60, 60)
    assert values(figure, "2025-04:total", "n", "median") == (0, None)
    assert values(figure, "2025-04:review", "n") == (1,)
    assert [row.key for row in figure.rows if row.in_chart] == [
        f"2025-{m:02d}:total" for m in range(1, 7)]

    cases = figures.referral_to_first_dose_cases(scope_of(centre), "2025-03:total", "n")
    assert sorted(int(c.detail.split(": ")[1].split()[0]) for c in cases) == TOTALS
    assert {c.on for c in cases} == {MARCH + days(i) for i in range(10)}
    with pytest.raises(UnknownBar):
        figures.referral_to_first_dose_cases(scope_of(centre), "2025-03:nothing", "n")


def test_cycle_slippage_per_cycle_number(history, oncologist, centre, quartiles_in):
    # Cycle 1 given [-2, 0, 0, 1, 1] days after its due day: median 0, Q1 0, Q3 1. Cycle 2
    # [0, 3, 7, 8, 14]: median 7, Q1 3, Q3 8; late (more than 7 days): 8 and 14, not 7.
    for one, two in zip([-2, 0, 0, 1, 1], [0, 3, 7, 8, 14], strict=True):
        course = history.course(oncologist)
        history.give(history.cycle(course, 1, due=dt.date(2025, 1, 6)),
                     at(dt.date(2025, 1, 6) + days(one)))
        history.give(history.cycle(course, 2, due=MARCH), at(MARCH + days(two), 23))
        # Cycle 3 given in July: outside the period.
        history.give(history.cycle(course, 3, due=dt.date(2025, 7, 1)), at(dt.date(2025, 7, 1)))

    figure = figures.cycle_slippage(scope_of(centre))
    assert values(figure, "1", "n", "median", "q1", "q3", "late") == (5, 0, 0, 1, 0)
    assert values(figure, "2", "n", "median", "q1", "q3", "late") == (5, 7, 3, 8, 2)
    assert values(figure, "3", "n", "median", "late") == (0, None, 0)
    late = figures.cycle_slippage_cases(scope_of(centre), "2", "late")
    assert sorted(c.detail for c in late) == ["14 days after the due day",
                                              "8 days after the due day"]


def test_withholds_reductions_escalations_and_discontinuations(history, elsewhere, oncologist,
                                                              centre):
    a = history.course(oncologist)
    c1, c2, c3, c4 = (history.cycle(a, n, due=dt.date(2025, 1, 6) + days(56 * (n - 1)))
                      for n in range(1, 5))
    history.decide(c1, "approve", at(dt.date(2025, 1, 5)), activity="7.4")
    history.decide(c2, "withhold", at(dt.date(2025, 3, 1)), categories=["thrombocytopenia"])
    history.decide(c2, "approve", at(dt.date(2025, 3, 15)), activity="3.7")  # reduced
    history.decide(c3, "approve", at(dt.date(2025, 5, 10)), activity="7.4")  # re-escalated
    history.decide(c4, "approve", at(dt.date(2025, 7, 5)), activity="7.4")  # after the period
    b = history.course(oncologist, state="discontinued")
    b2 = history.cycle(b, 2, due=dt.date(2025, 2, 1))
    history.decide(b2, "withhold", at(dt.date(2025, 2, 1)), categories=["neutropenia", "renal"])
    # Discontinued without naming a category: the rules' triggers name it.
    history.decide(b2, "discontinue", at(dt.date(2025, 2, 20)), triggers=["renal"])
    history.course_event(b, "discontinue", "active", "discontinued", at(dt.date(2025, 2, 20)))
    c = history.course(oncologist, state="discontinued")
    history.course_event(c, "discontinue_for_hypersensitivity", "active", "discontinued",
                         at(dt.date(2025, 4, 1)))
    d = history.course(oncologist)
    history.decide(history.cycle(d, 1, due=dt.date(2025, 4, 2)), "approve",
                   at(dt.date(2025, 4, 2)), activity="3.7")  # reduced, no withhold before
    e = history.course(oncologist)
    e2 = history.cycle(e, 2, due=dt.date(2025, 1, 10))
    history.decide(e2, "withhold", at(dt.date(2024, 12, 20)), categories=["thrombocytopenia"])
    history.decide(e2, "approve", at(dt.date(2025, 1, 10)), activity="3.7")
    other = elsewhere.course(oncologist)
    elsewhere.decide(elsewhere.cycle(other, 2, due=MARCH), "withhold", at(MARCH),
                     categories=["thrombocytopenia"])

    figure = figures.dose_modifications(scope_of(centre))
    kinds = ("withheld", "reduced", "escalated", "discontinued")
    assert values(figure, "thrombocytopenia", *kinds) == (1, 2, 1, 0)
    assert values(figure, "neutropenia", *kinds) == (1, 0, 0, 0)
    assert values(figure, "renal", *kinds) == (1, 0, 0, 1)
    assert values(figure, "hypersensitivity", *kinds) == (0, 0, 0, 1)
    assert values(figure, "not_recorded", *kinds) == (0, 1, 0, 0)
    assert values(figure, "anaemia", *kinds) == (0, 0, 0, 0)
    reduced = figures.dose_modifications_cases(scope_of(centre), "thrombocytopenia", "reduced")
    assert sorted(c.patient_id for c in reduced) == sorted([a.patient_id, e.patient_id])


def test_lar_inside_and_outside_4_to_24_hours(history, oncologist, centre):
    minutes = dt.timedelta(minutes=1)
    gaps = {"early": dt.timedelta(hours=4) - minutes, "within": dt.timedelta(hours=4),
            "within_end": dt.timedelta(hours=24), "late": dt.timedelta(hours=24) + minutes,
            "usual": dt.timedelta(hours=6), "missing": None}
    for i, gap in enumerate(gaps.values()):
        course = history.course(oncologist)
        day = dt.date(2025, 5, 5) + days(i)
        history.give(history.cycle(course, 1, due=day), at(day), lar_after=gap)

    figure = figures.lar_timing(scope_of(centre))
    assert values(figure, "2025-05", "n", "within", "early", "late", "missing") == (6, 3, 1, 1, 1)
    assert values(figure, "2025-04", "n") == (0,)
    early = figures.lar_timing_cases(scope_of(centre), "2025-05", "early")
    assert [c.detail for c in early] == ["LAR 3 h 59 min after the infusion"]


def test_maintenance_injections_missed(history, oncologist, centre):
    course = history.course(oncologist)
    june = dt.date(2025, 6, 2)
    # Due 2 June, window to 9 June: done at 23:30 on the 9th in London (on time) and at 00:30
    # on the 10th (late), then three days late.
    history.maintenance(course, due=june, sequence=1, state="done",
                        done_at=dt.datetime(2025, 6, 9, 22, 30, tzinfo=dt.UTC))
    history.maintenance(course, due=june, sequence=2, state="done",
                        done_at=dt.datetime(2025, 6, 9, 23, 30, tzinfo=dt.UTC))
    history.maintenance(course, due=june, sequence=3, state="done", done_at=at(june + days(10)))
    history.maintenance(course, due=june, sequence=4, state="skipped")  # missed
    history.maintenance(course, due=june, sequence=5)  # window passed, nothing given: missed
    history.task(course, TaskKind.LAR_MAINTENANCE, due=dt.date(2025, 6, 30), sequence=6,
                 latest=dt.date(2025, 7, 20), owner_party=OwnerParty.PRACTICE)  # still open
    history.maintenance(course, due=june, sequence=7, state="cancelled")  # dropped by the plan
    history.maintenance(course, due=dt.date(2025, 7, 1), sequence=8)  # after the period

    figure = followup.maintenance_injections(scope_of(centre))
    assert values(figure, "2025-06", "n", "on_time", "late", "missed", "open") == (6, 1, 2, 2, 1)
    assert values(figure, "2025-05", "n") == (0,)
    assert len(followup.maintenance_injections_cases(scope_of(centre), "2025-06", "missed")) == 2


def test_overdue_tasks_by_kind_and_owner(history, oncologist, navigator, centre, quartiles_in):
    course = history.course(oncologist)
    labs = TaskKind.PRE_DOSE_LABS
    # Centre-owned lab tasks overdue 3 (done), 5 (skipped: its event row) and 15 days (still
    # open today, 15 July): median 5, Q1 4, Q3 10.
    history.task(course, labs, due=dt.date(2025, 3, 10), sequence=1, state="done",
                 done_at=at(dt.date(2025, 3, 13)))
    history.task(course, labs, due=dt.date(2025, 3, 11), sequence=2, state="done",
                 done_at=at(dt.date(2025, 3, 11), 18))  # done on its due day: never overdue
    history.task(course, labs, due=dt.date(2025, 3, 12), sequence=3, state="skipped",
                 skipped_at=at(dt.date(2025, 3, 17)))
    history.task(course, labs, due=dt.date(2025, 6, 30), sequence=4)
    history.task(course, labs, due=dt.date(2025, 3, 2), sequence=5, state="skipped",
                 skipped_at=at(dt.date(2025, 2, 27)))  # skipped before it was due
    history.task(course, labs, due=dt.date(2025, 3, 1), sequence=6, state="cancelled")
    history.task(course, labs, due=dt.date(2025, 4, 1), sequence=7, state="done",
                 done_at=at(dt.date(2025, 4, 3)), owner_party=OwnerParty.PRACTICE)
    history.task(course, TaskKind.IMAGING, due=dt.date(2025, 5, 1), state="done",
                 done_at=at(dt.date(2025, 5, 4)), owner_party=OwnerParty.USER,
                 owner_user=navigator)

    figure = followup.overdue_tasks(scope_of(centre))
    centre_row = f"{labs}:centre:-"
    assert figure.rows[0].key == centre_row  # the most overdue first
    assert values(figure, centre_row, "n", "open", "median", "q1", "q3") == (3, 1, 5, 4, 10)
    assert values(figure, f"{labs}:practice:-", "n", "open", "median") == (1, 0, 2)
    user_row = f"{TaskKind.IMAGING}:user:{navigator.external_id}"
    assert values(figure, user_row, "n", "median") == (1, 3)
    assert figure.row(user_row).labels == ("CT or MRI", navigator.get_full_name())
    assert len(figure.rows) == 3
    still = followup.overdue_tasks_cases(scope_of(centre), centre_row, "open")
    assert [c.detail for c in still] == ["Due 30 Jun 2025; 15 days overdue and still open"]


def test_referral_back_after_the_last_dose(history, oncologist, centre, quartiles_in):
    sent = dt.date(2025, 4, 20)
    for after in (10, 20, 30, 40, 50):  # median 30, Q1 20, Q3 40
        course = history.course(oncologist)
        last = sent - days(after)
        history.give(history.cycle(course, 3, due=last - days(56)), at(last - days(56)))
        history.give(history.cycle(course, 4, due=last), at(last, 15))
        history.letter(course, at(sent, 9))
    draft = history.course(oncologist)
    history.give(history.cycle(draft, 4, due=sent), at(sent))
    history.letter(draft, None, state="draft")  # not sent: not a referral back

    figure = followup.referral_back(scope_of(centre))
    assert values(figure, "2025-04", "n", "median", "q1", "q3") == (5, 30, 20, 40)
    assert values(figure, "2025-05", "n") == (0,)


def test_late_cancellations_and_wasted_doses_with_their_cost(history, elsewhere, oncologist,
                                                             centre):
    course = history.course(oncologist)
    cycle = history.cycle(course, 1, due=dt.date(2025, 5, 5))
    may = at(dt.date(2025, 5, 2))
    history.order(cycle, "cancelled", may, charge="500", late=True)
    history.order(cycle, "cancelled", may)  # cancelled in time: free, not a loss
    history.order(cycle, "wasted", may, charge="2000")
    history.order(cycle, "wasted", may, ineligible=True)  # charge waived
    history.order(cycle, "cancelled", may, charge="400", late=True, currency="EUR")
    history.order(cycle, "cancelled", at(dt.date(2025, 7, 2)), charge="500", late=True)
    other = elsewhere.course(oncologist)
    elsewhere.order(elsewhere.cycle(other, 1, due=dt.date(2025, 5, 5)), "wasted", may,
                    charge="2000")

    figure = followup.order_losses(scope_of(centre))
    assert [row.key for row in figure.rows] == ["EUR:late", "EUR:wasted", "USD:late",
                                                "USD:wasted"]
    assert values(figure, "USD:late", "n", "charge") == (1, 500)
    assert values(figure, "USD:wasted", "n", "charge", "waived") == (2, 2000, 1)
    assert values(figure, "EUR:late", "n", "charge") == (1, 400)
    waived = followup.order_losses_cases(scope_of(centre), "USD:wasted", "waived")
    assert [c.patient_id for c in waived] == [course.patient_id]


def test_econsult_response_times(history, centre, oncologist, oncologist2, quartiles_in):
    asked = at(dt.date(2025, 3, 10), 9)
    for state, hours, who in (("answered", 2, oncologist), ("answered", 4, oncologist),
                              ("closed", 30, oncologist2), ("asked", None, oncologist),
                              ("withdrawn", None, oncologist)):
        EConsult.objects.create(
            centre=centre, asked_by=who, question="Candidate?", primary_site="small_bowel",
            state=state, asked_at=asked,
            answered_at=asked + dt.timedelta(hours=hours) if hours else None,
            answer="Yes." if hours else "", response_hours=hours)

    figure = followup.econsult_response(scope_of(centre))
    # Answered after 2, 4 and 30 hours: median 4, Q1 3, Q3 17.
    assert values(figure, "2025-03", "n", "answered", "waiting", "median", "q1", "q3") == (
        5, 3, 1, 4, 3, 17)
    practice = followup.econsult_response(scope_of(centre, practice=oncologist2.centre))
    assert values(practice, "2025-03", "n", "answered", "median") == (1, 1, 30)


def test_a_practice_and_the_period_narrow_every_figure(history, oncologist, oncologist2,
                                                       centre):
    for i, total in enumerate(TOTALS):
        first_dose_course(history, oncologist if i % 2 else oncologist2, at(MARCH + days(i)),
                          total)
    first_dose_course(history, oncologist, at(dt.date(2025, 1, 6)), 33)
    mine = scope_of(centre, practice=oncologist.centre)
    figure = figures.referral_to_first_dose(mine)
    # Odd ranks of TOTALS: 30, 35, 42, 50, 60.
    assert values(figure, "2025-03:total", "n", "median", "q1", "q3") == (5, 42, 35, 50)
    assert values(figure, "2025-01:total", "n") == (1,)
    later = figures.referral_to_first_dose(scope_of(centre, first=dt.date(2025, 2, 1)))
    assert [row.key for row in later.rows if row.in_chart][0] == "2025-02:total"
    assert values(later, "2025-03:total", "n") == (10,)
    with pytest.raises(UnknownBar):
        later.row("2025-01:total")
