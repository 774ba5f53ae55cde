"""The navigator's side: care tasks (the plan, materialised), their event rows, reminders and
calendar feeds."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from netcare.access import can_change_patient

# --- care tasks --------------------------------------------------------------------------------


class TaskKind(models.TextChoices):
    SSA_WASHOUT_CHECK = "ssa_washout_check", "SSA washout check"
    PRE_DOSE_LABS = "pre_dose_labs", "Pre-dose labs"
    INFUSION = "infusion", "Infusion"
    LAR_INJECTION = "lar_injection", "Octreotide LAR injection"
    RADIATION_SAFETY_EDUCATION = "radiation_safety_education", "Radiation-safety education"
    RADIATION_SAFETY_CHECKIN = "radiation_safety_checkin", "Radiation-safety check-in"
    IMAGING = "imaging", "CT or MRI"
    POST_COURSE_LABS = "post_course_labs", "Post-course labs"
    SSTR_PET = "sstr_pet", "Post-treatment SSTR PET"
    LAR_MAINTENANCE = "lar_maintenance", "Octreotide LAR maintenance injection"
    REFERRAL_FOLLOW_UP = "referral_follow_up", "Refer back with the course letter"
    REBOOK_CYCLE = "rebook_cycle", "Rebook the withheld infusion"


LAB_TASK_KINDS = (TaskKind.PRE_DOSE_LABS, TaskKind.POST_COURSE_LABS)


class TaskState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class OwnerParty(models.TextChoices):
    """Who owns a task: the centre's team, the referring oncologist's practice (per the course's
    responsibility agreement), or one named user after a reassignment."""

    CENTRE = "centre", "NET specialist centre"
    PRACTICE = "practice", "Referring oncologist's practice"
    USER = "user", "A named user"


def _may_act_on_task(task: CareTask, user) -> bool:
    """NETcare itself (None), or anyone who may see the task's patient."""
    if user is None:
        return True
    return can_change_patient(user, task.patient)


def _system_only(task: CareTask, user) -> bool:
    return user is None


class CareTask(ConcurrentTransitionMixin, models.Model):
    """One timed obligation of a course's plan: what, for whom, by when, owned by whom.

    Keyed by (course, kind, cycle, sequence): re-planning moves an open task in place, cancels one
    the plan no longer has, and never touches a done or skipped one. `cycle` is 0 for obligations
    not tied to one cycle; `sequence` numbers repeated ones (imaging, LAR maintenance) from 1.
    "Due soon" and "overdue" are derived from the dates when read, never stored.
    """

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey("prrt.TreatmentCourse", on_delete=models.CASCADE,
                               related_name="care_tasks")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="care_tasks")
    kind = models.CharField(max_length=32, choices=TaskKind.choices)
    cycle = models.PositiveSmallIntegerField(default=0, help_text="0: not tied to one cycle.")
    sequence = models.PositiveSmallIntegerField(default=1)
    state = FSMField(default=TaskState.OPEN, choices=TaskState.choices, protected=True,
                     db_index=True)
    owner_party = models.CharField(max_length=10, choices=OwnerParty.choices)
    owner_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="care_tasks")
    earliest = models.DateField()
    due = models.DateField()
    latest = models.DateField()
    basis = models.CharField(max_length=10, default="planned",
                             help_text="actual: from a dose given; planned: from a plan date.")
    note = models.TextField(blank=True)
    snoozed_until = models.DateField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was skipped, cancelled or snoozed.")
    value = models.TextField(blank=True, help_text="What was recorded when it was done.")
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+", help_text="Empty: NETcare itself.")
    fulfilled_by = models.CharField(
        max_length=120, blank=True,
        help_text="The record that met the obligation, when NETcare closed the task "
                  "(\"patients.LabResult:<id>\").")
    appointment_at = models.DateTimeField(null=True, blank=True)
    appointment_place = models.CharField(max_length=120, blank=True)
    appointment_note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due", "kind", "cycle", "sequence", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "kind", "cycle", "sequence"],
                                    name="caretask_plan_key_unique"),
            models.CheckConstraint(condition=models.Q(earliest__lte=models.F("due"),
                                                      due__lte=models.F("latest")),
                                   name="caretask_window_ordered"),
            models.CheckConstraint(
                condition=~models.Q(owner_party="user") | models.Q(owner_user__isnull=False),
                name="caretask_user_owner_named"),
            models.CheckConstraint(
                condition=~models.Q(state="done") | models.Q(done_at__isnull=False),
                name="caretask_done_has_time"),
            models.CheckConstraint(
                condition=~models.Q(state__in=["skipped", "cancelled"]) | ~models.Q(reason=""),
                name="caretask_skip_cancel_has_reason"),
        ]
        indexes = [
            models.Index(fields=["state", "due"], name="caretask_open_due",
                         condition=models.Q(state="open")),
            models.Index(fields=["owner_user", "state"], name="caretask_owner_state"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        label = self.get_kind_display()
        if self.cycle:
            return f"{label} (cycle {self.cycle})"
        if self.kind in (TaskKind.IMAGING, TaskKind.LAR_MAINTENANCE):
            return f"{label} #{self.sequence}"
        return label

    @transition(field=state, source=TaskState.OPEN, target=TaskState.DONE,
                permission=_may_act_on_task)
    def complete(self) -> None:
        pass

    @transition(field=state, source=TaskState.OPEN, target=TaskState.SKIPPED,
                permission=_may_act_on_task)
    def skip(self) -> None:
        pass

    @transition(field=state, source=TaskState.OPEN, target=TaskState.CANCELLED,
                permission=_system_only)
    def cancel(self) -> None:
        pass

    @transition(field=state, source=TaskState.CANCELLED, target=TaskState.OPEN,
                permission=_system_only)
    def reopen(self) -> None:
        pass


class ContactLogEntry(models.Model):
    """The navigator's record of a conversation: a call, a message or a visit, with whom and
    what was said, optionally for one task (a radiation-safety check-in, a lab reminder)."""

    class Kind(models.TextChoices):
        CALL = "call", "Phone call"
        MESSAGE = "message", "Message"
        VISIT = "visit", "Visit"

    class Party(models.TextChoices):
        PATIENT = "patient", "Patient"
        CARER = "carer", "Family member or carer"
        REFERRING_ONCOLOGIST = "referring_oncologist", "Referring oncologist"
        OTHER = "other", "Someone else"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="contacts")
    task = models.ForeignKey("CareTask", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="contacts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    party = models.CharField("with whom", max_length=24, choices=Party.choices,
                             default=Party.PATIENT)
    occurred_at = models.DateTimeField()
    summary = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "contact log entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.get_party_display().lower()}"


class ReferralLetter(models.Model):
    """The letter that refers a patient back after the course: drafted by NETcare from the
    record, edited and sent by the specialist or navigator."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.OneToOneField("prrt.TreatmentCourse", on_delete=models.CASCADE,
                                  related_name="letter")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="letters")
    state = models.CharField(max_length=8, choices=State.choices, default=State.DRAFT)
    body = models.TextField()
    drafted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(
            condition=~models.Q(state="sent") | models.Q(sent_at__isnull=False,
                                                          sent_by__isnull=False),
            name="referralletter_sent_has_sender")]

    def __str__(self) -> str:
        return f"Course letter ({self.get_state_display().lower()})"


class CareTaskEvent(models.Model):
    """The history of a care task: every transition (and every reassignment or snooze), with
    who, when, from, to and why. An empty actor is NETcare itself (plan sync, fulfilment)."""

    task = models.ForeignKey(CareTask, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", help_text="Empty: NETcare itself.")
    at = models.DateTimeField(auto_now_add=True)
    transition = models.CharField(max_length=32)
    source = models.CharField(max_length=12, choices=TaskState.choices)
    target = models.CharField(max_length=12, choices=TaskState.choices)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.transition}: {self.source} -> {self.target}"

    @property
    def by_system(self) -> bool:
        return self.actor_id is None


# --- reminders ---------------------------------------------------------------------------------


class ReminderKind(models.TextChoices):
    TASK_DUE = "task_due", "Task due soon"
    TASK_OVERDUE = "task_overdue", "Task overdue"
    PRECAUTIONS = "precautions", "Radiation-safety precautions (patient)"
    APPOINTMENT = "appointment", "Appointment (patient)"
    DIGEST = "digest", "Morning digest"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class ReminderState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class Reminder(models.Model):
    """One message to send at a time, to a user or a patient, exactly once.

    The database is the queue: the minute sweep claims pending rows whose `send_at` has come
    (``SELECT … FOR UPDATE SKIP LOCKED``) by setting a lease (`claimed_until`) and enqueues one
    send task each; the send checks and marks the row in one transaction. A claim whose send never
    finished (a killed worker, a lost broker message) is claimed again once its lease has passed.
    A failed send waits for its backoff in `claimed_until` too. `key` makes creation idempotent.
    """

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                       null=True, blank=True, related_name="reminders")
    recipient_patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                          null=True, blank=True, related_name="reminders")
    task = models.ForeignKey(CareTask, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="reminders")
    course = models.ForeignKey("prrt.TreatmentCourse", on_delete=models.CASCADE, null=True,
                               blank=True, related_name="reminders")
    payload = models.JSONField(default=dict, blank=True,
                               help_text="What the message needs besides the task (ids, days).")
    send_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=ReminderState.choices,
                             default=ReminderState.PENDING)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["send_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(recipient_user__isnull=False, recipient_patient__isnull=True)
                           | models.Q(recipient_user__isnull=True,
                                      recipient_patient__isnull=False)),
                name="reminder_one_recipient"),
            models.CheckConstraint(
                condition=~models.Q(state="sent") | models.Q(sent_at__isnull=False),
                name="reminder_sent_has_time"),
        ]
        indexes = [
            # The work queue: only pending rows, in send order.
            models.Index(fields=["send_at"], name="reminder_pending_send_at",
                         condition=models.Q(state="pending")),
            models.Index(fields=["task", "state"], name="reminder_task_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.channel} at {self.send_at:%Y-%m-%d %H:%M}"


class CalendarToken(models.Model):
    """The unguessable secret in a user's calendar feed URL; resetting it replaces it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="calendar_token")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar feed of user {self.user_id}"
