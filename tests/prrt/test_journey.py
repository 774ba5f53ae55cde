"""The journey picture and the lab table of the patient page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from prrt import services
from prrt.clinical import rules_config
from prrt.journey import journey_for
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.django_db
C1 = dt.date(2026, 9, 7)


@pytest.fixture
def course(time_machine, centre, oncologist, specialist, navigator):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=1), today=C1)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=C1)
    give(navigator, course.cycles.get(number=1), C1)
    return course


def test_journey_marks_doses_windows_and_overdue_cycles(course):
    today = dt.date(2026, 11, 22)
    journey = journey_for(course, today=today)
    infusions = [m for m in journey.marks if m.row == 0]
    assert [(m.start, m.state) for m in infusions][:2] == [
        (C1, "done"), (dt.date(2026, 11, 2), "overdue")]  # C2 was due 56 days after C1
    window = next(m for m in journey.marks if m.row == 1)
    assert (window.start, window.end) == (C1, C1 + dt.timedelta(days=7))
    assert window.width > 0
    assert journey.start < C1 < today < journey.end
    assert journey.marks[0].x < journey.today_x
    assert len(journey.overdue) == 1
    assert rules_config(course.centre).precaution_days == 7


def test_patient_page_draws_the_journey_and_grades_labs(client, navigator, specialist, course):
    enter_labs(specialist, course.patient, dt.date(2026, 11, 20), platelets=("60", "10^9/L"))
    client.force_login(navigator)
    page = client.get(reverse("patients:detail", args=[course.patient.external_id])
                      ).content.decode()
    assert "<svg" in page and 'aria-labelledby="journey-title journey-desc"' in page
    assert "C2 overdue" in page
    row = page[page.index('data-analyte="platelets"'):]
    row = row[:row.index("</tr>")]
    assert "60 ×10⁹/L" in row and "Grade 2" in row and "badge-warn" in row
    assert "↓ falling" in row
