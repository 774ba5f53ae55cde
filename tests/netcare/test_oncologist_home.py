"""The referring oncologist's home: per patient the next infusion as the plan has it (the same day
as the cycle and the course page, with the booked time and place), the withholds and dose
reductions so far, the doses given, and only the obligations the practice really holds; in a
constant number of queries, scoped to the oncologist's patients."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from prrt import services as prrt_services
from prrt.bookings import cycle_book
from prrt.models import Cycle, CycleState
from tests.prrt.builders import approved_course, enter_labs, give
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db

D = dt.date
C1 = D(2025, 1, 6)
HOME_AT = dt.datetime(2025, 3, 18, 9, 0, tzinfo=dt.UTC)


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC), tick=False)


def course_with_first_dose(time_machine, *, centre, oncologist, specialist, navigator,
                           callbacks):
    """An approved course whose plan is synced, with cycle 1 given at 7.4 GBq on C1."""
    move(time_machine, D(2024, 12, 17))
    with callbacks(execute=True):
        course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                                 first_dose=C1)
    move(time_machine, C1 - dt.timedelta(days=2))
    with callbacks(execute=True):
        enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                     today=C1 - dt.timedelta(days=2))
    with callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                                   activity_gbq=Decimal("7.4"), today=C1 - dt.timedelta(days=1))
    move(time_machine, C1, 17)
    with callbacks(execute=True):
        give(navigator, course.cycles.get(number=1), C1)
    return course


def withhold_and_rebook_cycle_2(time_machine, course, *, specialist, navigator, callbacks):
    """Cycle 2 withheld for low platelets on its day, then rebooked for 24 Mar 09:30 in Day unit
    3 and approved at the reduced 3.7 GBq once the platelets recovered."""
    move(time_machine, D(2025, 3, 3))
    with callbacks(execute=True):
        enter_labs(specialist, course.patient, D(2025, 2, 27), platelets=("60", "10^9/L"))
    c2 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=2), today=D(2025, 3, 3))
    with callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c2, decision="withhold",
                                   categories=["thrombocytopenia"], today=D(2025, 3, 3),
                                   reason="Platelets 60.")
    move(time_machine, D(2025, 3, 17))
    with callbacks(execute=True):
        cycle_book(actor=navigator, cycle=course.cycles.get(number=2),
                   booked_date=D(2025, 3, 24), booked_time=dt.time(9, 30), place="Day unit 3",
                   reason="Platelets recovering after the withhold.")
    with callbacks(execute=True):
        enter_labs(specialist, course.patient, D(2025, 3, 17))
    c2 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=2), today=D(2025, 3, 17))
    assert c2.state == CycleState.READY
    with callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c2, decision="approve",
                                   activity_gbq=Decimal("3.7"), today=D(2025, 3, 17),
                                   reason="Resume at the reduced activity after the withhold.")
    return Cycle.objects.get(pk=c2.pk)


@pytest.fixture
def history(time_machine, centre, oncologist, specialist, navigator,
            django_capture_on_commit_callbacks):
    course = course_with_first_dose(time_machine, centre=centre, oncologist=oncologist,
                                    specialist=specialist, navigator=navigator,
                                    callbacks=django_capture_on_commit_callbacks)
    c2 = withhold_and_rebook_cycle_2(time_machine, course, specialist=specialist,
                                     navigator=navigator,
                                     callbacks=django_capture_on_commit_callbacks)
    time_machine.move_to(HOME_AT, tick=False)
    return course, c2


def home(client, user):
    client.force_login(user)
    response = client.get(reverse("oncologist-home"))
    assert response.status_code == 200
    return response


def row(page: str, patient) -> str:
    """The patient's table row."""
    start = page.index(f'data-patient="{patient.external_id}"')
    return page[start:page.index("</tr>", start)]


def test_next_infusion_is_the_booked_day_the_cycle_and_the_course_page_show(
        client, oncologist, history):
    course, c2 = history
    response = home(client, oncologist)
    [patient] = response.context["patients"]
    assert patient.prrt.next_cycle.pk == c2.pk and patient.prrt.next_booked
    # The plan's day is the booked day, and it is what the page shows.
    assert c2.planned_date == c2.booked_date == D(2025, 3, 24)
    cell = row(response.content.decode(), course.patient)
    course_url = reverse("prrt:course", args=[course.external_id])
    assert (f'Cycle 2: <a href="{course_url}"><time datetime="2025-03-24">24 Mar 2025</time></a>'
            in cell)
    assert "Booked</span> at 09:30, Day unit 3" in cell
    # The course page the link opens shows the same day for cycle 2.
    course_page = client.get(course_url)
    assert course_page.status_code == 200
    assert f"<td>{c2.planned_date:%-d %b %Y}</td>" in course_page.content.decode()
    # ... and so does the infusion task of cycle 2 (the one plan).
    infusion = CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=2)
    assert infusion.due == c2.planned_date


def test_withhold_reduction_and_dose_history(client, oncologist, history):
    course, _ = history
    response = home(client, oncologist)
    [patient] = response.context["patients"]
    assert patient.prrt.withholds == [{"cycle": 2, "on": D(2025, 3, 3),
                                       "categories": ["Thrombocytopenia"]}]
    assert patient.prrt.reductions == [{"cycle": 2, "on": D(2025, 3, 17),
                                        "activity_gbq": Decimal("3.70")}]
    assert patient.prrt.doses == [{"cycle": 1, "on": C1, "activity_gbq": Decimal("7.40")}]
    cell = row(response.content.decode(), course.patient)
    assert "Withheld</span> cycle 2 on 3 Mar 2025: Thrombocytopenia" in cell
    assert "Reduced</span> cycle 2 approved at 3.7 GBq (17 Mar 2025)" in cell
    assert 'Cycle 1: <time datetime="2025-01-06">6 Jan 2025</time>, 7.4 GBq' in cell


def test_only_open_tasks_the_practice_holds_are_obligations(client, oncologist, history):
    course, _ = history
    # NETcare closed the practice's pre-dose labs of cycle 1 from the labs entered.
    closed = CareTask.objects.get(course=course, kind=TaskKind.PRE_DOSE_LABS, cycle=1)
    assert closed.owner_party == OwnerParty.PRACTICE
    assert closed.state == TaskState.DONE and closed.done_by is None and closed.fulfilled_by
    response = home(client, oncologist)
    [patient] = response.context["patients"]
    assert patient.obligations, "the practice holds open tasks in the next 60 days"
    assert all(t.state == TaskState.OPEN and t.owner_party == OwnerParty.PRACTICE
               for t in patient.obligations)
    page = response.content.decode()
    assert f'data-task="{closed.external_id}"' not in page
    for task in CareTask.objects.filter(course=course).exclude(state=TaskState.OPEN):
        assert f'data-task="{task.external_id}"' not in page
    for task in patient.obligations:
        assert f'data-task="{task.external_id}"' in page


def test_a_planned_cycle_not_yet_booked_says_so(client, oncologist, time_machine, centre,
                                                specialist, navigator,
                                                django_capture_on_commit_callbacks):
    course = course_with_first_dose(time_machine, centre=centre, oncologist=oncologist,
                                    specialist=specialist, navigator=navigator,
                                    callbacks=django_capture_on_commit_callbacks)
    move(time_machine, D(2025, 1, 20))
    c2 = course.cycles.get(number=2)
    response = home(client, oncologist)
    [patient] = response.context["patients"]
    assert patient.prrt.next_cycle.pk == c2.pk and not patient.prrt.next_booked
    cell = row(response.content.decode(), course.patient)
    assert f'<time datetime="{c2.planned_date:%Y-%m-%d}">' in cell
    assert c2.planned_date == D(2025, 3, 3)
    assert "planned, not booked yet" in cell


def test_other_oncologists_patients_are_not_shown(client, oncologist2, history):
    response = home(client, oncologist2)
    assert response.context["patients"] == []
    course, _ = history
    assert course.patient.family_name not in response.content.decode()


def test_constant_queries_for_1_and_5_patients(client, oncologist, centre, specialist,
                                               navigator, time_machine,
                                               django_capture_on_commit_callbacks):
    def add(count: int) -> None:
        for _ in range(count):
            course_with_first_dose(time_machine, centre=centre, oncologist=oncologist,
                                   specialist=specialist, navigator=navigator,
                                   callbacks=django_capture_on_commit_callbacks)
        time_machine.move_to(HOME_AT, tick=False)

    def load():
        return home(client, oncologist)

    first = course_with_first_dose(time_machine, centre=centre, oncologist=oncologist,
                                   specialist=specialist, navigator=navigator,
                                   callbacks=django_capture_on_commit_callbacks)
    withhold_and_rebook_cycle_2(time_machine, first, specialist=specialist, navigator=navigator,
                                callbacks=django_capture_on_commit_callbacks)
    time_machine.move_to(HOME_AT, tick=False)
    assert len(load().context["patients"]) == 1
    response = assert_constant_queries(load, grow=lambda: add(4))
    patients = response.context["patients"]
    assert len(patients) == 5
    assert all(p.prrt is not None and p.prrt.doses and p.prrt.next_cycle for p in patients)
    assert sum(len(p.prrt.withholds) for p in patients) == 1
