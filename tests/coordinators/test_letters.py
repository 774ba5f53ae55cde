"""The course letter: drafted from the record, edited and sent by the centre's team; sending
refers the patient back in the sender's name, hands the follow-up to the referring practice,
closes the referral follow-up task, tells the oncologists and publishes LetterSent on commit."""

from __future__ import annotations

import datetime as dt

import pytest

from coordinators import letters
from coordinators.models import CareTask, CareTaskEvent, OwnerParty, ReferralLetter, TaskKind
from netcare import events
from netcare.models import AuditEvent, Notification
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from prrt import services as prrt_services
from referrals.models import Referral, ReferralEvent, ReferralState
from tests.coordinators.letter_builders import (
    C4_GIVEN,
    REDUCED_REASON,
    WITHHOLD_REASON,
    finished_course,
    move,
    started_course,
)

pytestmark = pytest.mark.django_db

WINDOW_END = C4_GIVEN + dt.timedelta(days=7)  # the last day of cycle 4's precaution window
FOLLOW_UP = (TaskKind.POST_COURSE_LABS, TaskKind.LAR_MAINTENANCE, TaskKind.IMAGING,
             TaskKind.SSTR_PET)


def day_text(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


@pytest.fixture
def course(centre, oncologist, specialist, navigator, time_machine):
    return finished_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           navigator=navigator, time_machine=time_machine)


@pytest.fixture
def after_window(course, time_machine):
    """The day after cycle 4's precaution window, 10:00 in London."""
    move(time_machine, WINDOW_END + dt.timedelta(days=1))
    return course


@pytest.fixture
def letter_sent_events():
    seen: list[events.LetterSent] = []

    def record(event: events.LetterSent) -> None:
        seen.append(event)

    events.subscribe(events.LetterSent, record)
    yield seen
    events._handlers[events.LetterSent].remove(record)  # noqa: SLF001


def open_follow_up(course) -> list[CareTask]:
    return list(CareTask.objects.filter(course=course, state="open", kind__in=FOLLOW_UP))


# --- the draft -------------------------------------------------------------------------------


def test_the_draft_holds_the_record(course, navigator, centre):
    centre.phone = "+44 20 7946 0000"
    centre.save()
    text = letters.letter_draft_text(course, today=WINDOW_END + dt.timedelta(days=1))
    patient = course.patient
    assert f"Re: {patient.full_name}, born 1 Jun 1962, MRN {patient.mrn}" in text
    assert "Completed: 4 of 4 cycles given, the last on 14 Jul 2025." in text
    for line in ("- Cycle 1: 7.4 GBq on 6 Jan 2025",
                 "- Cycle 2: 3.7 GBq on 24 Mar 2025 (reduced activity)",
                 "- Cycle 3: 7.4 GBq on 19 May 2025",
                 "- Cycle 4: 7.4 GBq on 14 Jul 2025"):
        assert line in text
    assert "Cumulative activity: 25.9 GBq" in text
    assert (f"- Cycle 2 withheld on 3 Mar 2025, categories: thrombocytopenia. "
            f"Reason: {WITHHOLD_REASON.rstrip('.')} (recommendation: withhold).") in text
    assert (f"- Cycle 2 approved at the reduced activity of 3.7 GBq on 24 Mar 2025. "
            f"Reason: {REDUCED_REASON.rstrip('.')} (recommendation: resume reduced).") in text
    assert "- Nausea: CTCAE grade 1, onset 7 Jan 2025, related to treatment." in text
    # Every open follow-up task is in the plan with its due date, done by the practice.
    tasks = open_follow_up(course)
    assert {t.kind for t in tasks} == set(FOLLOW_UP)
    for task in tasks:
        assert f"- {day_text(task.due)}" in text
    assert "- 18 Aug 2025: Post-course labs" in text  # 5 weeks after the last dose
    assert "- 14 Oct 2025: Post-treatment SSTR PET" in text  # 3 months after it
    assert "- 11 Aug 2025: Octreotide LAR 30 mg IM (your practice)" in text
    assert "up to 18 months from the first dose (6 Jul 2026)" in text
    assert "your practice (Hillview Oncology Practice)" in text
    assert "myelodysplastic syndrome" in text and "leukaemia" in text
    assert "Renal function" in text
    assert "Riverside NET Centre" in text and "Telephone: +44 20 7946 0000" in text
    assert f"Nurse navigator: {navigator.get_full_name()} ({navigator.email})" in text


def test_a_discontinued_course_says_why(centre, oncologist, specialist, navigator,
                                        time_machine):
    course = started_course(centre=centre, oncologist=oncologist, specialist=specialist,
                            navigator=navigator, time_machine=time_machine)
    move(time_machine, dt.date(2025, 2, 20))
    prrt_services.course_discontinue(actor=specialist, course=course,
                                     reason="The patient chose to stop.")
    course.refresh_from_db()
    text = letters.letter_draft_text(course, today=dt.date(2025, 2, 20))
    assert ("Discontinued on 20 Feb 2025: The patient chose to stop. 1 of 4 cycles given, "
            "the last on 6 Jan 2025.") in text
    assert "Cumulative activity: 7.4 GBq" in text
    assert "- None reported." in text


# --- prepare and edit ------------------------------------------------------------------------


def test_prepare_once_and_audit_it(after_window, navigator):
    course = after_window
    first = letters.letter_prepare(actor=navigator, course=course)
    again = letters.letter_prepare(actor=navigator, course=course)
    assert first.pk == again.pk and ReferralLetter.objects.count() == 1
    assert first.state == ReferralLetter.State.DRAFT
    assert "Cumulative activity: 25.9 GBq" in first.body
    created = AuditEvent.objects.filter(object_type="coordinators.ReferralLetter",
                                        action="create")
    assert created.count() == 1
    assert created.get().patient_id == course.patient.external_id
    assert created.get().actor == navigator


def test_edit_the_draft(after_window, specialist):
    course = after_window
    letters.letter_prepare(actor=specialist, course=course)
    with pytest.raises(TransitionInvalid) as exc:
        letters.letter_save(actor=specialist, course=course, body="  \r\n ")
    assert exc.value.field == "body"
    letter = letters.letter_save(actor=specialist, course=course,
                                 body="Dear Dr User,\r\nEdited text.\r\n")
    assert letter.body == "Dear Dr User,\nEdited text.\n"
    update = AuditEvent.objects.get(object_type="coordinators.ReferralLetter", action="update")
    assert update.patient_id == course.patient.external_id
    assert update.changes["body"][1] == letter.body


def test_only_the_centres_team_prepares(after_window, oncologist, outside_specialist):
    for actor in (oncologist, outside_specialist):
        with pytest.raises(TransitionForbidden):
            letters.letter_prepare(actor=actor, course=after_window)
    assert not ReferralLetter.objects.exists()


# --- sending ---------------------------------------------------------------------------------


def test_send_is_refused_until_the_last_precaution_window_has_passed(course, navigator,
                                                                     time_machine):
    move(time_machine, WINDOW_END, 22)
    letters.letter_prepare(actor=navigator, course=course)
    with pytest.raises(TransitionInvalid) as exc:
        letters.letter_send(actor=navigator, course=course)
    assert exc.value.field == "course"
    assert "22 Jul 2025" in exc.value.message
    assert ReferralLetter.objects.get().state == ReferralLetter.State.DRAFT
    assert Referral.objects.get().state == ReferralState.IN_TREATMENT


def test_send_refers_back_in_the_senders_name(after_window, navigator, specialist, oncologist,
                                              django_capture_on_commit_callbacks,
                                              letter_sent_events):
    course = after_window
    patient = course.patient
    letters.letter_prepare(actor=specialist, course=course)
    moving = [t for t in open_follow_up(course) if t.owner_party != OwnerParty.PRACTICE]
    assert moving  # imaging and the SSTR PET are the centre's until the letter
    follow_up_task = CareTask.objects.get(course=course, kind=TaskKind.REFERRAL_FOLLOW_UP)

    with django_capture_on_commit_callbacks(execute=True):
        letter = letters.letter_send(actor=navigator, course=course,
                                     body="Dear Dr User,\nThe final text.\n")
        # The follow-up is the practice's now (the send's own transaction, before the
        # handlers of its events run), each move recorded with who and why.
        assert {t.owner_party for t in open_follow_up(course)} == {OwnerParty.PRACTICE}
        for task in moving:
            event = CareTaskEvent.objects.get(task=task, transition="reassign")
            assert event.actor == navigator
            assert event.reason == "Referred back with the course letter"

    letter.refresh_from_db()
    assert letter.state == ReferralLetter.State.SENT
    assert letter.sent_by == navigator and letter.sent_at is not None
    assert letter.body == "Dear Dr User,\nThe final text.\n"

    referral = Referral.objects.get(pk=course.referral_id)
    assert referral.state == ReferralState.REFERRED_BACK
    refer_back = ReferralEvent.objects.get(referral=referral, transition="refer_back")
    assert refer_back.actor == navigator  # the sender, neither NETcare nor the preparer
    assert "Cumulative activity 25.9 GBq" in referral.summary

    # NETcare closes the referral follow-up task: the letter met it.
    follow_up_task.refresh_from_db()
    assert follow_up_task.state == "done"
    assert follow_up_task.done_by is None
    assert follow_up_task.fulfilled_by == f"coordinators.ReferralLetter:{letter.external_id}"
    assert CareTaskEvent.objects.get(task=follow_up_task, transition="complete").actor is None

    notice = Notification.objects.get(recipient=oncologist, url__contains="/letters/")
    assert notice.url == f"/letters/{course.external_id}/"
    assert patient.mrn not in notice.subject and patient.family_name not in notice.subject

    letter_rows = AuditEvent.objects.filter(object_type="coordinators.ReferralLetter")
    assert {row.action for row in letter_rows} >= {"create", "update", "transition"}
    assert all(row.patient_id == patient.external_id for row in letter_rows)
    sent_row = letter_rows.get(action="transition")
    assert sent_row.actor == navigator and sent_row.changes == {"state": ["draft", "sent"]}

    assert letter_sent_events == [events.LetterSent(course_id=course.pk, letter_id=letter.pk)]


def test_the_plan_keeps_the_follow_up_with_the_practice(after_window, navigator,
                                                        django_capture_on_commit_callbacks):
    from coordinators.plan import plan_sync

    letters.letter_prepare(actor=navigator, course=after_window)
    with django_capture_on_commit_callbacks(execute=True):
        letters.letter_send(actor=navigator, course=after_window)
    plan_sync(course=after_window)
    assert {t.owner_party for t in open_follow_up(after_window)} == {OwnerParty.PRACTICE}


def test_letter_sent_waits_for_the_commit(after_window, navigator, letter_sent_events,
                                          django_capture_on_commit_callbacks):
    letters.letter_prepare(actor=navigator, course=after_window)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        letters.letter_send(actor=navigator, course=after_window)
    assert letter_sent_events == []
    for callback in callbacks:
        callback()
    assert len(letter_sent_events) == 1


def test_a_discontinued_course_is_sent_at_once(centre, oncologist, specialist, navigator,
                                               time_machine):
    course = started_course(centre=centre, oncologist=oncologist, specialist=specialist,
                            navigator=navigator, time_machine=time_machine)
    move(time_machine, dt.date(2025, 1, 10))  # inside cycle 1's precaution window
    prrt_services.course_discontinue(actor=specialist, course=course,
                                     reason="The patient chose to stop.")
    letters.letter_prepare(actor=specialist, course=course)
    letters.letter_send(actor=specialist, course=course)
    referral = Referral.objects.get(pk=course.referral_id)
    assert referral.state == ReferralState.REFERRED_BACK
    assert referral.events.get(transition="refer_back").actor == specialist


def test_roles_and_a_second_send(after_window, navigator, oncologist, outside_specialist):
    course = after_window
    letters.letter_prepare(actor=navigator, course=course)
    for actor in (oncologist, outside_specialist):
        with pytest.raises(TransitionForbidden):
            letters.letter_send(actor=actor, course=course)
    assert ReferralLetter.objects.get().state == ReferralLetter.State.DRAFT
    letters.letter_send(actor=navigator, course=course)
    with pytest.raises(TransitionConflict):
        letters.letter_send(actor=navigator, course=course)
    with pytest.raises(TransitionConflict):
        letters.letter_save(actor=navigator, course=course, body="Too late.")
    assert ReferralEvent.objects.filter(transition="refer_back").count() == 1


def test_send_needs_a_draft_and_a_text(after_window, navigator):
    with pytest.raises(TransitionConflict):
        letters.letter_send(actor=navigator, course=after_window)
    letters.letter_prepare(actor=navigator, course=after_window)
    with pytest.raises(TransitionInvalid) as exc:
        letters.letter_send(actor=navigator, course=after_window, body=" ")
    assert exc.value.field == "body"
    assert ReferralLetter.objects.get().state == ReferralLetter.State.DRAFT


def test_the_pdf_holds_the_doses(after_window, navigator):
    import io

    from pypdf import PdfReader

    letter = letters.letter_prepare(actor=navigator, course=after_window)
    pdf = letters.letter_pdf(letter)
    assert pdf.startswith(b"%PDF")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
                    .split())
    assert "Cycle 2: 3.7 GBq on 24 Mar 2025 (reduced activity)" in text
    assert "Cumulative activity: 25.9 GBq" in text
    assert "Draft: not sent" in text
