"""Reminders: which are created for which task kind and owner, for patients only with consent;
the task verbs; sending (templates, idempotence, backoff, giving up); the morning digest."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail

from coordinators import services
from coordinators.delivery import reminder_send, reminders_sweep
from coordinators.models import (
    CareTask,
    Channel,
    OwnerParty,
    Reminder,
    ReminderKind,
    ReminderState,
    TaskKind,
    TaskState,
)
from coordinators.plan import plan_sync
from coordinators.reminders import digests_schedule
from coordinators.sms import SmsError
from netcare.models import AuditEvent, Notification, Role
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from tests.coordinators.backends import RecordingSmsBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = dt.date
LONDON = zoneinfo.ZoneInfo("Europe/London")


def at8(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8), tzinfo=LONDON)


def task(course, kind, cycle=0, sequence=1) -> CareTask:
    return CareTask.objects.get(course=course, kind=kind, cycle=cycle, sequence=sequence)


def reminders(task_or_course, **filters):
    if isinstance(task_or_course, CareTask):
        return Reminder.objects.filter(task=task_or_course, **filters)
    return Reminder.objects.filter(course=task_or_course, **filters)


@pytest.fixture
def planned(course):
    plan_sync(course=course, today=D(2024, 12, 17))
    return course


@pytest.fixture
def washout_overdue(course):
    """The V19 course planned on 2024-12-17, its patient's last long-acting SSA injection only
    20 days before cycle 1: the washout check is open and overdue."""
    course.patient.last_long_acting_ssa_on = D(2024, 12, 17)
    course.patient.save()
    plan_sync(course=course, today=D(2024, 12, 17))
    return course


def test_centre_task_reminds_the_navigators_before_due_and_when_overdue(planned, navigator):
    infusion = task(planned, TaskKind.INFUSION, 2)
    rows = {(r.kind, r.recipient_user_id): r for r in reminders(infusion)}
    assert set(rows) == {(ReminderKind.TASK_DUE, navigator.pk),
                         (ReminderKind.TASK_OVERDUE, navigator.pk)}
    assert rows[(ReminderKind.TASK_DUE, navigator.pk)].send_at == at8(D(2025, 3, 1))
    assert rows[(ReminderKind.TASK_OVERDUE, navigator.pk)].send_at == at8(D(2025, 3, 4))


def test_practice_task_also_reminds_the_referring_oncologist(planned, navigator, oncologist):
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 2)
    assert labs.owner_party == OwnerParty.PRACTICE
    recipients = set(reminders(labs, kind=ReminderKind.TASK_DUE)
                     .values_list("recipient_user", flat=True))
    assert recipients == {navigator.pk, oncologist.pk}


def test_primary_oncologist_near_home_holds_practice_tasks(planned, navigator, oncologist,
                                                           practice2):
    primary = UserFactory(role=Role.REFERRING_ONCOLOGIST, centre=practice2)
    planned.patient.primary_oncologist = primary
    planned.patient.save()
    plan_sync(course=planned, today=D(2024, 12, 17))
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 2)
    recipients = set(reminders(labs, kind=ReminderKind.TASK_DUE, state=ReminderState.PENDING)
                     .values_list("recipient_user", flat=True))
    assert recipients == {navigator.pk, primary.pk}
    # The referrer's reminder was cancelled, not deleted.
    assert reminders(labs, recipient_user=oncologist, state=ReminderState.CANCELLED).exists()


def test_no_due_soon_reminder_for_a_task_already_past_due(washout_overdue):
    washout = task(washout_overdue, TaskKind.SSA_WASHOUT_CHECK, 1)  # due 2024-12-07
    assert not reminders(washout, kind=ReminderKind.TASK_DUE).exists()
    assert reminders(washout, kind=ReminderKind.TASK_OVERDUE).exists()


def test_patient_gets_nothing_without_consent(planned):
    # An email address and a phone number on file: only the missing consent holds reminders back.
    patient = planned.patient
    patient.reminder_consent, patient.email, patient.phone = (
        False, "pat@example.org", "+44 7700 900123")
    patient.save()
    plan_sync(course=planned, today=D(2024, 12, 17))
    assert not Reminder.objects.filter(recipient_patient=patient).exists()
    # The same patient once they consent: reminders by both channels.
    patient.reminder_consent = True
    patient.save()
    plan_sync(course=planned, today=D(2024, 12, 17))
    assert set(Reminder.objects.filter(recipient_patient=patient)
               .values_list("channel", flat=True)) == {Channel.EMAIL, Channel.SMS}


def consent(course, *, email="pat@example.org", phone="+44 7700 900123"):
    patient = course.patient
    patient.reminder_consent, patient.email, patient.phone = True, email, phone
    patient.save()


def test_patient_appointment_reminders_for_labs_and_lar_by_each_channel(planned):
    consent(planned)
    plan_sync(course=planned, today=D(2024, 12, 17))
    rows = Reminder.objects.filter(recipient_patient=planned.patient,
                                   kind=ReminderKind.APPOINTMENT)
    kinds = {r.task.kind for r in rows}
    assert kinds == {TaskKind.PRE_DOSE_LABS, TaskKind.POST_COURSE_LABS, TaskKind.LAR_MAINTENANCE}
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 2)
    assert {(r.channel, r.send_at) for r in rows.filter(task=labs)} == {
        (Channel.EMAIL, at8(D(2025, 2, 23))), (Channel.SMS, at8(D(2025, 2, 23)))}


def test_precautions_on_each_day_of_the_window_after_every_infusion(
        planned, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    from tests.coordinators.test_plan import run_cycle_1

    consent(planned, phone="")
    planned.centre.rules_settings = {"precaution_days": 3}
    planned.centre.save()
    with django_capture_on_commit_callbacks(execute=True):
        run_cycle_1(planned, specialist, navigator, time_machine)
    rows = Reminder.objects.filter(recipient_patient=planned.patient,
                                   kind=ReminderKind.PRECAUTIONS).order_by("send_at")
    assert [(r.payload["day"], r.send_at, r.channel) for r in rows] == [
        (1, at8(D(2025, 1, 7)), Channel.EMAIL), (2, at8(D(2025, 1, 8)), Channel.EMAIL),
        (3, at8(D(2025, 1, 9)), Channel.EMAIL)]


def test_default_precaution_window_is_seven_days_and_sms_goes_through_the_backend(
        planned, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    from tests.coordinators.test_plan import run_cycle_1

    consent(planned, email="")
    with django_capture_on_commit_callbacks(execute=True):
        run_cycle_1(planned, specialist, navigator, time_machine)
    rows = list(Reminder.objects.filter(recipient_patient=planned.patient,
                                        kind=ReminderKind.PRECAUTIONS).order_by("send_at"))
    assert [r.payload["day"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    time_machine.move_to(at8(D(2025, 1, 7)) + dt.timedelta(minutes=1), tick=False)
    assert reminder_send(reminder_id=rows[0].pk) == "sent"
    assert reminder_send(reminder_id=rows[1].pk) == "skipped"  # not due yet
    [sms] = RecordingSmsBackend.sent
    assert sms["key"] == rows[0].key and "day 1 of 7" in sms["body"]
    assert planned.patient.family_name not in sms["body"]


def test_complete_cancels_the_unsent_reminders_and_is_audited(planned, navigator):
    infusion = task(planned, TaskKind.INFUSION, 2)
    done = services.task_complete(actor=navigator, task=infusion,
                                  done_at=dt.datetime(2024, 12, 17, 8, tzinfo=dt.UTC),
                                  value="given elsewhere")
    assert done.state == TaskState.DONE and done.done_by == navigator
    assert not reminders(infusion, state=ReminderState.PENDING).exists()
    assert AuditEvent.objects.filter(object_id=str(infusion.external_id),
                                     action=AuditEvent.Action.TRANSITION).exists()
    with pytest.raises(TransitionConflict):
        services.task_skip(actor=navigator, task=infusion, reason="x")


def test_skip_needs_a_reason_and_outsiders_cannot_act(planned, navigator, outside_navigator):
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 3)
    with pytest.raises(TransitionInvalid):
        services.task_skip(actor=navigator, task=labs, reason="")
    with pytest.raises(TransitionForbidden):
        services.task_skip(actor=outside_navigator, task=labs, reason="Not mine")
    with pytest.raises(TransitionForbidden):
        services.task_snooze(actor=outside_navigator, task=labs, until=D(2025, 1, 1), reason="x")
    skipped = services.task_skip(actor=navigator, task=labs, reason="Drawn at the centre.")
    assert skipped.state == TaskState.SKIPPED
    # Re-planning never touches a skipped task.
    plan_sync(course=planned, today=D(2024, 12, 17))
    assert task(planned, TaskKind.PRE_DOSE_LABS, 3).state == TaskState.SKIPPED


def test_reassign_moves_the_owner_reminders_and_survives_replanning(planned, navigator,
                                                                    specialist, oncologist):
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 2)
    services.task_reassign(actor=navigator, task=labs, owner_user=specialist,
                           reason="Drawn at the centre this time.")
    recipients = set(reminders(labs, kind=ReminderKind.TASK_DUE, state=ReminderState.PENDING)
                     .values_list("recipient_user", flat=True))
    assert recipients == {navigator.pk, specialist.pk}
    plan_sync(course=planned, today=D(2024, 12, 17))
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 2)
    assert (labs.owner_party, labs.owner_user) == (OwnerParty.USER, specialist)
    assert AuditEvent.objects.filter(object_id=str(labs.external_id),
                                     action=AuditEvent.Action.UPDATE).exists()


def test_reassign_to_someone_who_cannot_see_the_patient_is_refused(planned, navigator,
                                                                   outside_specialist):
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 2)
    with pytest.raises(TransitionInvalid):
        services.task_reassign(actor=navigator, task=labs, owner_user=outside_specialist)


def test_snooze_holds_the_reminders_until_the_day(washout_overdue, navigator):
    washout = task(washout_overdue, TaskKind.SSA_WASHOUT_CHECK, 1)  # overdue since 2024-12-07
    services.task_snooze(actor=navigator, task=washout, until=D(2024, 12, 20),
                         reason="Waiting for the practice to confirm the last injection.")
    overdue = reminders(washout, kind=ReminderKind.TASK_OVERDUE).get()
    assert overdue.send_at == at8(D(2024, 12, 20))
    with pytest.raises(TransitionInvalid):
        services.task_snooze(actor=navigator, task=washout, until=D(2024, 12, 17), reason="x")


def test_send_renders_the_trio_without_phi_in_the_subject(planned, navigator, time_machine):
    infusion = task(planned, TaskKind.INFUSION, 1)
    due = reminders(infusion, kind=ReminderKind.TASK_DUE).get()
    time_machine.move_to(due.send_at, tick=False)
    assert reminder_send(reminder_id=due.pk) == "sent"
    assert reminder_send(reminder_id=due.pk) == "skipped"
    [message] = mail.outbox
    assert message.to == [navigator.email]
    assert message.subject == "[NETcare] Due 6 Jan: Infusion (cycle 1)"
    assert planned.patient.family_name not in message.subject + message.body
    assert str(planned.patient.external_id) in message.body
    assert message.alternatives[0][1] == "text/html"
    assert message.extra_headers["Message-ID"].startswith(f"<reminder.{due.pk}.")
    due.refresh_from_db()
    assert due.state == ReminderState.SENT and due.sent_at == due.send_at


def test_mail_errors_back_off_then_give_up_and_tell_the_navigator(
        planned, navigator, time_machine, monkeypatch, settings,
        django_capture_on_commit_callbacks):
    settings.NETCARE_REMINDER_MAX_ATTEMPTS = 3
    infusion = task(planned, TaskKind.INFUSION, 1)
    due = reminders(infusion, kind=ReminderKind.TASK_DUE).get()
    now = due.send_at
    time_machine.move_to(now, tick=False)

    def broken(self, *args, **kwargs):
        raise SMTPServerDisconnected("mail server went away")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    waits = []
    for _attempt in range(3):
        sweep = reminders_sweep(now=now, enqueue=lambda ids: None)
        assert due.pk in sweep.claimed
        with django_capture_on_commit_callbacks(execute=True):
            assert reminder_send(reminder_id=due.pk, now=now) == "failed"
        due.refresh_from_db()
        if due.state == ReminderState.PENDING:
            waits.append((due.claimed_until - now).total_seconds())
            assert due.pk not in reminders_sweep(now=now,
                                                          enqueue=lambda ids: None).claimed
            now = due.claimed_until
    assert waits == [60, 120]
    assert due.state == ReminderState.FAILED and due.attempts == 3
    assert "SMTPServerDisconnected" in due.last_error
    note = Notification.objects.get(recipient=navigator)
    assert "could not be sent" in note.subject


def test_sms_gateway_errors_are_retried_like_mail(planned, time_machine):
    consent(planned, email="")
    plan_sync(course=planned, today=D(2024, 12, 17))
    labs = task(planned, TaskKind.PRE_DOSE_LABS, 1)
    sms = reminders(labs, kind=ReminderKind.APPOINTMENT).get()
    time_machine.move_to(sms.send_at, tick=False)
    RecordingSmsBackend.fail_with = SmsError("gateway 503")
    reminders_sweep(enqueue=lambda ids: None)
    assert reminder_send(reminder_id=sms.pk) == "failed"
    RecordingSmsBackend.fail_with = None
    time_machine.move_to(sms.send_at + dt.timedelta(minutes=2), tick=False)
    assert sms.pk in reminders_sweep(enqueue=lambda ids: None).claimed
    assert reminder_send(reminder_id=sms.pk) == "sent"
    assert len(RecordingSmsBackend.sent) == 1


def test_reminder_of_a_task_done_meanwhile_is_not_sent(planned, navigator, time_machine):
    infusion = task(planned, TaskKind.INFUSION, 1)
    due = reminders(infusion, kind=ReminderKind.TASK_DUE).get()
    time_machine.move_to(due.send_at, tick=False)
    reminders_sweep(enqueue=lambda ids: None)
    CareTask.objects.filter(pk=infusion.pk).update(state=TaskState.DONE,
                                                   done_at=due.send_at)
    assert reminder_send(reminder_id=due.pk) == "cancelled"
    assert mail.outbox == []


def test_morning_digest_once_per_navigator_and_day(washout_overdue, navigator, time_machine):
    morning = dt.datetime(2025, 1, 3, 7, 30, tzinfo=LONDON)
    time_machine.move_to(morning, tick=False)
    assert digests_schedule() == 1
    digests_schedule(now=morning + dt.timedelta(minutes=15))
    [digest] = Reminder.objects.filter(kind=ReminderKind.DIGEST)
    assert digest.key == f"digest:u{navigator.pk}:2025-01-03"
    assert reminder_send(reminder_id=digest.pk) == "sent"
    [message] = mail.outbox
    assert "Infusion (cycle 1)" in message.body  # within the next 7 days
    assert "SSA washout check (cycle 1)" in message.body  # overdue
    assert washout_overdue.patient.family_name not in message.subject + message.body
    # Before the digest hour nothing is created.
    time_machine.move_to(dt.datetime(2025, 1, 4, 6, 0, tzinfo=LONDON), tick=False)
    assert digests_schedule() == 0


# --- plain text is plain: emails and SMS are not HTML-escaped -----------------------------------


def test_every_plain_text_template_turns_autoescaping_off():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    texts = sorted([*templates.glob("emails/*.txt"), *templates.glob("coordinators/*.txt")])
    assert len(texts) >= 16
    for path in texts:
        text = path.read_text()
        assert text.startswith("{% autoescape off %}"), path.name
        assert text.rstrip("\n").endswith("{% endautoescape %}"), path.name


def test_a_reminder_email_writes_names_as_they_are(planned, navigator, time_machine):
    navigator.first_name, navigator.last_name = "D'Arcy", "O'Neill & <Sons>"
    navigator.save()
    infusion = task(planned, TaskKind.INFUSION, 1)
    due = reminders(infusion, kind=ReminderKind.TASK_DUE).get()
    time_machine.move_to(due.send_at, tick=False)
    assert reminder_send(reminder_id=due.pk) == "sent"
    [message] = mail.outbox
    assert "Hello D'Arcy O'Neill & <Sons>," in message.body
    assert "&#x27;" not in message.body and "&amp;" not in message.body
    html = message.alternatives[0][0]
    assert "D&#x27;Arcy O&#x27;Neill &amp; &lt;Sons&gt;" in html  # the HTML part stays escaped


def test_a_notification_email_writes_subject_and_body_as_they_are(navigator):
    from netcare.notifications import notification_email_send

    notification = Notification.objects.create(
        recipient=navigator, subject="Labs for D'Arcy's cycle", body="Platelets < 75 & falling",
        url="/patients/")
    assert notification_email_send(notification_id=notification.pk)
    [message] = mail.outbox
    assert message.subject == "[NETcare] Labs for D'Arcy's cycle"
    assert "Platelets < 75 & falling" in message.body


def test_an_sms_writes_the_centre_as_it_is(planned, time_machine):
    centre = planned.centre
    centre.name, centre.phone = "St Mary's & St John's", ""
    centre.save()
    consent(planned, email="")
    plan_sync(course=planned, today=D(2024, 12, 17))
    sms = Reminder.objects.filter(recipient_patient=planned.patient, channel=Channel.SMS,
                                  kind=ReminderKind.APPOINTMENT).order_by("send_at").first()
    time_machine.move_to(sms.send_at, tick=False)
    assert reminder_send(reminder_id=sms.pk) == "sent"
    [sent] = RecordingSmsBackend.sent
    assert sent["body"].endswith("Questions: St Mary's & St John's")
