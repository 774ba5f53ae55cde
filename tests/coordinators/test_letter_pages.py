"""The course letter's page: the centre's team prepares, edits and sends it; the referring
oncologist reads the sent letter and its PDF; outsiders get 404; every read is audited."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from coordinators.models import ReferralLetter
from netcare.models import AuditEvent
from referrals.models import Referral, ReferralState
from tests.coordinators.letter_builders import C4_GIVEN, finished_course, move

pytestmark = pytest.mark.django_db

AFTER_WINDOW = C4_GIVEN + dt.timedelta(days=8)


@pytest.fixture
def course(centre, oncologist, specialist, navigator, time_machine):
    course = finished_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             navigator=navigator, time_machine=time_machine)
    move(time_machine, AFTER_WINDOW)
    return course


def url(name: str, course) -> str:
    return reverse(f"letters:{name}", args=[course.external_id])


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text()
                             for page in PdfReader(io.BytesIO(content)).pages).split())


def prepared(client, course):
    assert client.post(url("prepare", course)).status_code == 302
    return ReferralLetter.objects.get(course=course)


def test_the_team_prepares_edits_and_sends(client, course, navigator, oncologist):
    client.force_login(navigator)
    page = client.get(url("letter", course))
    assert page.status_code == 200
    assert "Draft the letter from the record" in page.content.decode()

    response = client.post(url("prepare", course))
    assert response["Location"] == url("letter", course)
    page = client.get(url("letter", course)).content.decode()
    assert 'name="body"' in page
    assert "Cycle 2: 3.7 GBq on 24 Mar 2025 (reduced activity)" in page
    assert "Send the letter and refer the patient back" in page

    response = client.post(url("save", course), {"body": "   "})
    assert response.status_code == 400
    assert "The letter cannot be empty." in response.content.decode()
    edited = ReferralLetter.objects.get().body.replace("Yours sincerely", "With best wishes")
    assert client.post(url("save", course), {"body": edited}).status_code == 302
    assert "With best wishes" in ReferralLetter.objects.get().body

    response = client.post(url("send", course), {"body": edited})
    assert response.status_code == 400  # not confirmed
    assert ReferralLetter.objects.get().state == ReferralLetter.State.DRAFT
    response = client.post(url("send", course), {"body": edited, "confirm": "1"})
    assert response.status_code == 302
    letter = ReferralLetter.objects.get()
    assert letter.state == ReferralLetter.State.SENT and letter.sent_by == navigator
    assert Referral.objects.get().state == ReferralState.REFERRED_BACK

    page = client.get(url("letter", course)).content.decode()
    assert 'name="body"' not in page and "With best wishes" in page
    assert navigator.get_full_name() in page  # who sent it
    assert client.post(url("send", course), {"body": edited, "confirm": "1"}).status_code == 409
    assert client.post(url("save", course), {"body": "Changed."}).status_code == 409


def test_send_before_the_window_has_passed_is_refused(client, course, navigator,
                                                      time_machine):
    move(time_machine, C4_GIVEN + dt.timedelta(days=3))
    client.force_login(navigator)
    letter = prepared(client, course)
    page = client.get(url("letter", course)).content.decode()
    assert "can be sent from 22 Jul 2025" in page
    assert "Send the letter and refer the patient back" not in page
    response = client.post(url("send", course), {"body": letter.body, "confirm": "1"})
    assert response.status_code == 400
    assert ReferralLetter.objects.get().state == ReferralLetter.State.DRAFT


def test_the_oncologist_reads_only_the_sent_letter(client, course, navigator, oncologist):
    client.force_login(navigator)
    letter = prepared(client, course)
    client.force_login(oncologist)
    page = client.get(url("letter", course))
    assert page.status_code == 200
    assert "has not sent the course letter yet" in page.content.decode()
    assert "Cumulative activity" not in page.content.decode()
    assert client.get(url("pdf", course)).status_code == 404
    assert client.post(url("send", course), {"body": letter.body,
                                             "confirm": "1"}).status_code == 403
    assert client.post(url("save", course), {"body": "Mine."}).status_code == 403
    assert client.post(url("prepare", course), {"redraft": "1"}).status_code == 403

    client.force_login(navigator)
    client.post(url("send", course), {"body": letter.body, "confirm": "1"})
    client.force_login(oncologist)
    page = client.get(url("letter", course)).content.decode()
    assert "Cumulative activity: 25.9 GBq" in page
    assert 'name="body"' not in page and "Send the letter" not in page
    response = client.get(url("pdf", course))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for dose in ("Cycle 1: 7.4 GBq on 6 Jan 2025", "Cycle 2: 3.7 GBq on 24 Mar 2025",
                 "Cycle 3: 7.4 GBq on 19 May 2025", "Cycle 4: 7.4 GBq on 14 Jul 2025"):
        assert dose in text
    assert "Draft" not in text
    rows = AuditEvent.objects.filter(actor=oncologist,
                                     object_type="coordinators.ReferralLetter")
    assert set(rows.values_list("action", flat=True)) == {"view", "export"}
    assert {row.patient_id for row in rows} == {course.patient.external_id}


def test_every_read_is_audited(client, course, specialist):
    client.force_login(specialist)
    client.get(url("letter", course))
    assert AuditEvent.objects.filter(actor=specialist, action="view",
                                     object_type="prrt.TreatmentCourse",
                                     patient_id=course.patient.external_id).count() == 1
    prepared(client, course)
    client.get(url("letter", course))
    client.get(url("pdf", course))
    letter_rows = AuditEvent.objects.filter(actor=specialist,
                                            object_type="coordinators.ReferralLetter")
    assert letter_rows.filter(action="view").count() == 1
    assert letter_rows.filter(action="export").count() == 1
    assert "Draft: not sent" in pdf_text(client.get(url("pdf", course)).content)


@pytest.mark.parametrize("persona", ["oncologist2", "outside_specialist", "outside_navigator",
                                     "administrator"])
def test_outsiders_get_404(client, request, course, navigator, persona):
    client.force_login(navigator)
    letter = prepared(client, course)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("letter", course)).status_code == 404
    assert client.get(url("pdf", course)).status_code == 404
    for name in ("prepare", "save", "send"):
        assert client.post(url(name, course), {"body": "x", "confirm": "1"}).status_code == 404
    assert ReferralLetter.objects.get().body == letter.body
    assert client.get("/letters/not-a-uuid/").status_code == 404


def test_links_from_the_course_and_referral_pages(client, course, navigator, oncologist):
    client.force_login(navigator)
    course_page = client.get(reverse("prrt:course", args=[course.external_id]))
    assert course_page.status_code == 200
    assert f'href="{url("letter", course)}"' in course_page.content.decode()
    referral_url = reverse("referrals:detail", args=[course.referral.external_id])
    referral_page = client.get(referral_url)
    assert referral_page.status_code == 200  # no letter yet: no link, no error
    assert url("letter", course) not in referral_page.content.decode()
    letter = prepared(client, course)
    assert "Course letter (draft)" in client.get(referral_url).content.decode()
    client.force_login(oncologist)
    assert url("letter", course) not in client.get(referral_url).content.decode()
    client.force_login(navigator)
    client.post(url("send", course), {"body": letter.body, "confirm": "1"})
    client.force_login(oncologist)
    assert "Course letter (sent)" in client.get(referral_url).content.decode()
