"""The written instructions follow the centre's precaution sheet: each precaution with its own
end date, grouped by duration when the durations differ, with whom it protects; in the PDF
(its text read back with pypdf) and in the email. Day 0 is the infusion day."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from patients.models import Patient
from prrt import services
from prrt.instructions import instructions_for
from prrt.models import Cycle
from prrt.precautions import precaution_sheet_save
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.django_db
DAY = dt.date(2025, 1, 6)  # a Monday
NEAR_CHILDREN = "Limit contact with small children and pregnant women."
TWO_DURATIONS = [
    {"text": "Sleep in a separate bed.", "days": 3},
    {"text": NEAR_CHILDREN, "days": 7, "audience": "children and pregnant women"},
    {"text": "Flush the toilet twice after each use.", "days": 3},
]


@pytest.fixture
def given_cycle(time_machine, centre, oncologist, specialist, navigator):
    time_machine.move_to(dt.datetime(2025, 1, 7, 9, 0, tzinfo=dt.UTC))
    centre.phone = "+44 20 7946 0000"
    centre.save()
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=DAY)
    enter_labs(specialist, course.patient, DAY - dt.timedelta(days=2))
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=1),
                                   today=DAY - dt.timedelta(days=2))
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=DAY - dt.timedelta(days=1))
    give(navigator, course.cycles.get(number=1), DAY)
    return course.cycles.get(number=1)


def pdf_text(client, cycle) -> str:
    response = client.get(reverse("prrt:cycle-instructions", args=[cycle.external_id]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(response.content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_pdf_of_a_two_duration_sheet_names_both_end_dates(client, navigator, centre,
                                                          given_cycle):
    precaution_sheet_save(actor=navigator, centre=centre, items=TWO_DURATIONS)
    client.force_login(navigator)
    text = pdf_text(client, given_cycle)
    assert "For 3 days, until Thursday 9 January 2025" in text
    assert ("For 7 days, until Monday 13 January 2025 — near children and pregnant women"
            in text)
    assert "from Monday 6 January 2025 to Monday 13 January 2025 at the longest" in text
    # Each precaution under its own end date, in the sheet's order.
    three, seven = text.index("For 3 days"), text.index("For 7 days")
    assert three < text.index("Sleep in a separate bed.") < text.index(
        "Flush the toilet twice") < seven < text.index(NEAR_CHILDREN)
    assert "Shower every day." not in text  # the centre's sheet, not Table 2
    assert "Do not have routine blood tests until Monday 13 January 2025" in text


def test_the_longest_window_stays_until_and_days(navigator, centre, given_cycle):
    precaution_sheet_save(actor=navigator, centre=centre, items=[
        {"text": "Sleep in a separate bed.", "days": 1},
        {"text": NEAR_CHILDREN, "days": 4, "audience": "children"}])
    cycle = Cycle.objects.select_related("course__centre").get(pk=given_cycle.pk)  # as saved
    instructions = instructions_for(cycle, today=DAY)
    assert (instructions.days, instructions.until) == (4, dt.date(2025, 1, 10))
    assert [(g.days, g.until) for g in instructions.groups] == [
        (1, dt.date(2025, 1, 7)), (4, dt.date(2025, 1, 10))]
    assert instructions.no_bloods_until == dt.date(2025, 1, 10)
    assert instructions.precautions == ("Sleep in a separate bed.", NEAR_CHILDREN)


def test_one_duration_for_everyone_reads_as_one_window(client, navigator, centre, given_cycle):
    precaution_sheet_save(actor=navigator, centre=centre, items=[
        {"text": "Sleep in a separate bed.", "days": 3},
        {"text": "Shower every day.", "days": 3}])
    client.force_login(navigator)
    text = pdf_text(client, given_cycle)
    assert "for 3 days after your infusion: from Monday 6 January 2025 to Thursday 9 January " \
           "2025" in text
    assert "For 3 days, until" not in text
    assert "Shower every day." in text and "Flush the toilet" not in text


def test_the_email_names_both_end_dates(client, navigator, centre, given_cycle, mailoutbox):
    precaution_sheet_save(actor=navigator, centre=centre, items=TWO_DURATIONS)
    Patient.objects.filter(pk=given_cycle.course.patient_id).update(
        email="p@patients.example", reminder_consent=True)
    client.force_login(navigator)
    client.post(reverse("prrt:cycle-instructions-email", args=[given_cycle.external_id]))
    [message] = mailoutbox
    body = message.body
    assert "For 3 days, until Thursday 9 January 2025:\n- Sleep in a separate bed.\n" \
           "- Flush the toilet twice after each use.\n" in body
    assert ("For 7 days, until Monday 13 January 2025 — near children and pregnant women:\n"
            f"- {NEAR_CHILDREN}\n") in body
    assert "Do not have routine blood tests until Monday 13 January 2025" in body
    html = message.alternatives[0][0]
    assert "For 3 days, until Thursday 9 January 2025" in html
    assert message.attachments[0][2] == "application/pdf"
