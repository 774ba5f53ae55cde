"""Who sees what of an MDT meeting, on the pages and through the API: the centre's team sees its
meetings and every case; an invited oncologist sees their own patient's case and no other (not
even counted); everyone else gets a 404. Reads are audited (the case list names its patients, a
case is a view, a PDF an export); the outcome PDF says what was signed."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from coordinators.models import OwnerParty
from netcare.models import AuditEvent, AuditEventPatient, Role
from network import mdt
from network.models import CaseState, Discipline, MdtCase, MeetingState
from patients.models import Patient
from tests.apiclient import API, client_for, results
from tests.factories import PatientFactory, UserFactory
from tests.network.mdt_builders import chair_member, list_case, schedule, set_meeting_state

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def world(centre, navigator, specialist, oncologist, oncologist2):
    """A meeting with two cases: one of `oncologist`'s patients (invited, by video) and one of
    `oncologist2`'s (not invited)."""
    meeting = schedule(navigator, chair=specialist, video_link="https://video.example/mdt")
    mine = PatientFactory(centre=centre, referring_oncologist=oncologist,
                          given_name="Mina", family_name="Mine", mrn="MINE001")
    theirs = PatientFactory(centre=centre, referring_oncologist=oncologist2,
                            given_name="Tess", family_name="Theirs", mrn="THEIRS02")
    case_mine = list_case(navigator, meeting, mine, question="PRRT after progression?")
    case_theirs = list_case(navigator, meeting, theirs, question="Surgery for the primary?")
    mdt.member_invite_oncologist(actor=navigator, case=case_mine)
    return meeting, case_mine, case_theirs


def _listed_patients(what: str) -> set[str]:
    event = AuditEvent.objects.filter(action=AuditEvent.Action.LIST, note=what).latest("id")
    return {str(p) for p in AuditEventPatient.objects.filter(event=event)
            .values_list("patient_id", flat=True)}


def test_the_team_sees_every_case_and_the_read_is_audited(client, navigator, world):
    meeting, case_mine, case_theirs = world
    client.force_login(navigator)
    page = client.get(f"/network/mdt/{meeting.external_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Mine, Mina" in text and "Theirs, Tess" in text
    assert "https://video.example/mdt" in text
    assert text.count('class="card mdt-case"') == 2
    assert _listed_patients("network:mdt-meeting") == {
        str(case_mine.patient.external_id), str(case_theirs.patient.external_id)}


def test_an_invited_oncologist_sees_their_case_and_no_other(client, oncologist, world):
    meeting, case_mine, case_theirs = world
    client.force_login(oncologist)
    page = client.get(f"/network/mdt/{meeting.external_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Mine, Mina" in text and "PRRT after progression?" in text
    assert "Theirs" not in text and "THEIRS02" not in text and "Surgery for the primary" not in text
    assert text.count('class="card mdt-case"') == 1
    assert "https://video.example/mdt" in text  # invited: they attend by video
    assert "List a patient" not in text and "Mark the meeting held" not in text
    assert _listed_patients("network:mdt-meeting") == {str(case_mine.patient.external_id)}

    assert client.get(f"/network/mdt/cases/{case_theirs.external_id}/").status_code == 404
    assert client.get(f"/network/mdt/cases/{case_mine.external_id}/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, actor=oncologist,
                                     object_id=str(case_mine.external_id)).count() == 1
    listing = client.get("/network/mdt/").content.decode()
    assert meeting.title in listing
    assert '<td>1</td>' in listing  # one case of theirs, the other not counted


def test_an_oncologist_of_a_listed_patient_not_invited_sees_no_video_link(client, oncologist2,
                                                                           world):
    meeting, _mine, case_theirs = world
    client.force_login(oncologist2)
    text = client.get(f"/network/mdt/{meeting.external_id}/").content.decode()
    assert "Theirs, Tess" in text and "Mine" not in text
    assert "https://video.example/mdt" not in text


@pytest.mark.parametrize("who", ["outside_navigator", "outside_specialist", "administrator",
                                 "stranger"])
def test_everyone_else_gets_a_404(client, request, world, who):
    meeting, case_mine, _theirs = world
    if who == "stranger":
        user = UserFactory(role=Role.REFERRING_ONCOLOGIST)
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    for url in (f"/network/mdt/{meeting.external_id}/",
                f"/network/mdt/{meeting.external_id}/agenda.pdf",
                f"/network/mdt/cases/{case_mine.external_id}/",
                f"/network/mdt/cases/{case_mine.external_id}/outcome.pdf"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/network/mdt/{meeting.external_id}/hold/").status_code == 404
    assert MdtCase.objects.get(pk=case_mine.pk).meeting.state == MeetingState.SCHEDULED


def test_an_oncologist_changes_nothing_on_the_meeting(client, oncologist, world):
    meeting, case_mine, _theirs = world
    client.force_login(oncologist)
    assert client.post(f"/network/mdt/{meeting.external_id}/hold/").status_code == 404
    assert client.post(f"/network/mdt/{meeting.external_id}/cases/search/",
                       {"search-query": "Theirs"}).status_code == 404
    response = client.post(f"/network/mdt/cases/{case_mine.external_id}/refresh/")
    assert response.status_code == 403
    assert MdtCase.objects.get(pk=case_mine.pk).state == CaseState.LISTED


# --- the API ------------------------------------------------------------------------------------


def test_the_api_scopes_cases_like_the_pages(oncologist, navigator, outside_navigator, world):
    meeting, case_mine, case_theirs = world
    api = client_for(oncologist)
    rows = results(api.get(f"{API}/mdt-cases/"))
    assert [row["id"] for row in rows] == [str(case_mine.external_id)]
    assert rows[0]["patient"] == str(case_mine.patient.external_id)
    assert rows[0]["summary"]["as_of"] == "2025-03-03"
    assert _listed_patients("api:mdt-case-list") == {str(case_mine.patient.external_id)}
    assert api.get(f"{API}/mdt-cases/{case_theirs.external_id}/").status_code == 404
    assert api.get(f"{API}/mdt-cases/{case_mine.external_id}/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, actor=oncologist,
                                     object_id=str(case_mine.external_id)).exists()
    [shown] = results(api.get(f"{API}/mdt-meetings/"))
    assert shown["id"] == str(meeting.external_id)
    assert shown["video_link"] == "https://video.example/mdt"
    assert {m["discipline"] for m in shown["members"]} == {Discipline.NET_ONCOLOGY,
                                                          Discipline.MEDICAL_ONCOLOGY}

    team = results(client_for(navigator).get(f"{API}/mdt-cases/",
                                             {"meeting": str(meeting.external_id)}))
    assert [row["id"] for row in team] == [str(case_mine.external_id),
                                           str(case_theirs.external_id)]
    outsider = client_for(outside_navigator)
    assert results(outsider.get(f"{API}/mdt-cases/")) == []
    assert results(outsider.get(f"{API}/mdt-meetings/")) == []
    assert outsider.get(f"{API}/mdt-meetings/{meeting.external_id}/").status_code == 404


def test_the_api_names_a_bad_filter(navigator, world):
    response = client_for(navigator).get(f"{API}/mdt-cases/", {"state": "signed"})
    assert response.status_code == 400 and response.json()["field"] == "state"
    response = client_for(navigator).get(f"{API}/mdt-cases/", {"meeting": "not-a-uuid"})
    assert response.status_code == 400 and response.json()["field"] == "meeting"


# --- listing and signing through the pages ------------------------------------------------------


def test_listing_a_case_by_post_search(client, navigator, world, centre):
    meeting, *_ = world
    PatientFactory(centre=centre, given_name="Nadia", family_name="Newcase", mrn="NEW777")
    client.force_login(navigator)
    short = client.post(f"/network/mdt/{meeting.external_id}/cases/search/",
                        {"search-query": "N"})
    assert short.status_code == 400 and "at least two characters" in short.content.decode()
    found = client.post(f"/network/mdt/{meeting.external_id}/cases/search/",
                        {"search-query": "new777"})
    assert found.status_code == 200 and "Newcase, Nadia (MRN NEW777)" in found.content.decode()
    patient = Patient.objects.get(mrn="NEW777")
    assert _listed_patients("network:mdt-case-search") == {str(patient.external_id)}
    empty = client.post(f"/network/mdt/{meeting.external_id}/cases/",
                        {"case-patient": str(patient.external_id), "case-question": ""})
    assert empty.status_code == 400
    added = client.post(f"/network/mdt/{meeting.external_id}/cases/",
                        {"case-patient": str(patient.external_id),
                         "case-question": "Liver-directed therapy?"})
    assert added.status_code == 302
    assert MdtCase.objects.get(patient=patient).question == "Liver-directed therapy?"


def test_signing_through_the_page(client, specialist, world, centre):
    meeting, case_mine, _theirs = world
    client.force_login(specialist)
    not_held = client.get(f"/network/mdt/cases/{case_mine.external_id}/").content.decode()
    assert "Mark the meeting held on its page" in not_held
    set_meeting_state(meeting, MeetingState.HELD)
    chair = chair_member(meeting)
    form = {"outcome-recommendation": "prrt", "outcome-rationale": "Progressing on SSA.",
            "outcome-confirm": "on", "outcome-action_1_text": "Book the PET",
            "outcome-action_1_owner": OwnerParty.CENTRE, "outcome-action_1_due": "2025-03-01"}
    refused = client.post(f"/network/mdt/cases/{case_mine.external_id}/sign/",
                          {**form, "outcome-attendees": [str(chair.external_id)]})
    assert refused.status_code == 400
    assert "The due day is in the past." in refused.content.decode()
    missing = client.post(f"/network/mdt/cases/{case_mine.external_id}/sign/",
                          {**form, "outcome-action_1_due": "2025-03-20"})
    assert missing.status_code == 400  # nobody ticked as taking part
    signed = client.post(f"/network/mdt/cases/{case_mine.external_id}/sign/",
                         {**form, "outcome-action_1_due": "2025-03-20",
                          "outcome-attendees": [str(chair.external_id)]})
    assert signed.status_code == 302
    case = MdtCase.objects.get(pk=case_mine.pk)
    assert (case.state, case.recommendation, case.signed_by) == (CaseState.DISCUSSED, "prrt",
                                                                 specialist)
    assert case.actions.get().text == "Book the PET"


def test_the_outcome_pdf_says_what_was_signed(client, oncologist, specialist, world):
    meeting, case_mine, _theirs = world
    client.force_login(oncologist)
    not_yet = client.get(f"/network/mdt/cases/{case_mine.external_id}/outcome.pdf")
    assert not_yet.status_code == 302
    set_meeting_state(meeting, MeetingState.HELD)
    mdt.case_sign(actor=specialist, case=case_mine, recommendation="captem",
                  rationale="Pancreatic NET progressing fast: CAPTEM before PRRT.",
                  attendees=[chair_member(meeting)],
                  actions=[mdt.ActionInput("Start CAPTEM locally", OwnerParty.PRACTICE,
                                           dt.date(2025, 3, 17))])
    response = client.get(f"/network/mdt/cases/{case_mine.external_id}/outcome.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(" ".join(page.extract_text() for page in
                             PdfReader(io.BytesIO(response.content)).pages).split())
    for expected in ("MDT outcome", "Mina Mine", "MRN MINE001", "CAPTEM",
                     "Pancreatic NET progressing fast: CAPTEM before PRRT.",
                     "PRRT after progression?", "Start CAPTEM locally", "17 Mar 2025",
                     f"by {specialist}", "Signed outcome, read-only"):
        assert expected in text, expected
    assert "Theirs" not in text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, actor=oncologist,
                                     object_id=str(case_mine.external_id),
                                     note="MDT outcome PDF").count() == 1


def test_the_agenda_pdf_holds_the_cases_the_reader_sees(client, navigator, oncologist, world):
    meeting, case_mine, case_theirs = world
    client.force_login(navigator)
    text = " ".join(PdfReader(io.BytesIO(client.get(
        f"/network/mdt/{meeting.external_id}/agenda.pdf").content)).pages[0].extract_text()
        .split())
    assert "Mine, Mina" in text and "Theirs, Tess" in text and "Cases (2)" in text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, actor=navigator,
                                     note="MDT agenda PDF").count() == 2
    client.force_login(oncologist)
    text = " ".join(PdfReader(io.BytesIO(client.get(
        f"/network/mdt/{meeting.external_id}/agenda.pdf").content)).pages[0].extract_text()
        .split())
    assert "Mine, Mina" in text and "Theirs" not in text and "Cases (1)" in text


def test_a_signed_outcome_appears_on_the_oncologists_home_page(client, oncologist, oncologist2,
                                                               specialist, world):
    meeting, case_mine, case_theirs = world
    client.force_login(oncologist)
    assert 'id="mdt-outcomes"' not in client.get("/oncologist/").content.decode()
    set_meeting_state(meeting, MeetingState.HELD)
    for case in (case_mine, case_theirs):
        mdt.case_sign(actor=specialist, case=case, recommendation="everolimus",
                      rationale="Lung primary.", attendees=[chair_member(meeting)])
    home = client.get("/oncologist/").content.decode()
    assert 'id="mdt-outcomes"' in home
    assert f'href="/network/mdt/cases/{case_mine.external_id}/"' in home
    assert str(case_theirs.external_id) not in home
    assert str(case_mine.patient.external_id) in _listed_patients("oncologist-home")


def test_the_meeting_page_reads_a_fixed_number_of_queries(client, navigator, specialist, world,
                                                          centre):
    from tests.querycount import assert_constant_queries

    meeting, *_ = world
    set_meeting_state(meeting, MeetingState.HELD)
    client.force_login(navigator)

    def grow():
        for n in range(3):
            case = list_case(navigator, meeting, PatientFactory(centre=centre))
            mdt.case_sign(actor=specialist, case=case, recommendation="surveillance",
                          rationale="Stable.", attendees=[chair_member(meeting)],
                          actions=[mdt.ActionInput(f"CT {n}", OwnerParty.CENTRE,
                                                   dt.date(2025, 6, 2))])

    assert_constant_queries(
        lambda: client.get(f"/network/mdt/{meeting.external_id}/"), grow=grow)
