"""The printable radiation-safety instructions: a real PDF whose text holds this patient's dates,
the centre's contact and the next appointments; emailed only with consent."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from netcare.models import AuditEvent
from patients.models import Patient
from prrt import services
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 16)


@pytest.fixture
def given_cycle(time_machine, centre, oncologist, specialist, navigator):
    time_machine.move_to(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC))
    centre.phone = "+44 20 7946 0000"
    centre.rules_settings = {"precaution_days": 7}
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


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_pdf_holds_the_patients_dates(client, navigator, given_cycle):
    client.force_login(navigator)
    response = client.get(reverse("prrt:cycle-instructions", args=[given_cycle.external_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(pdf_text(response.content).split())
    patient = given_cycle.course.patient
    assert "from Monday 16 November 2026 to Monday 23 November 2026" in text
    assert patient.full_name in text
    assert "Sleep in a separate bed." in text
    assert "+44 20 7946 0000" in text
    assert "11 January 2027" in text  # cycle 2 is due 56 days after the infusion
    assert AuditEvent.objects.filter(action="export", patient_id=patient.external_id).exists()


def test_the_window_follows_the_centres_setting(client, navigator, given_cycle, centre):
    centre.rules_settings = {"precaution_days": 3}
    centre.save()
    client.force_login(navigator)
    response = client.get(reverse("prrt:cycle-instructions", args=[given_cycle.external_id]))
    assert "to Thursday 19 November 2026" in " ".join(pdf_text(response.content).split())


def test_outsiders_get_404(client, oncologist2, given_cycle):
    client.force_login(oncologist2)
    url = reverse("prrt:cycle-instructions", args=[given_cycle.external_id])
    assert client.get(url).status_code == 404


def test_email_needs_consent(client, navigator, given_cycle, mailoutbox):
    patient = given_cycle.course.patient
    Patient.objects.filter(pk=patient.pk).update(email="", reminder_consent=False)
    client.force_login(navigator)
    url = reverse("prrt:cycle-instructions-email", args=[given_cycle.external_id])
    client.post(url)
    assert mailoutbox == []
    Patient.objects.filter(pk=patient.pk).update(email="p@patients.example",
                                                 reminder_consent=True)
    client.post(url)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["p@patients.example"]
    assert patient.family_name not in message.subject
    assert "until Monday 23 November 2026" in message.body
    assert message.attachments[0][2] == "application/pdf"
