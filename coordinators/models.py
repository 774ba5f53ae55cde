"""The navigator's side: care tasks (the plan, materialised), their event rows, reminders and
calendar feeds."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from netcare import audit
from netcare.access import can_change_patient
from netcare.models import AuditEvent, TimelineEntry

# --- care tasks --------------------------------------------------------------------------------


class TaskKind(models.TextChoices):
    SSA_WASHOUT_CHECK = "ssa_washout_check", "SSA washout check"
    PRE_DOSE_LABS = "pre_dose_labs", "Pre-dose labs"
    CONFIRMATORY_LABS = "confirmatory_labs", "Confirmatory labs (day before the dose)"
    DOSE_ORDER = "dose_order", "Order the dose"
    MDT_ACTION = "mdt_action", "MDT follow-up action"
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


# Tasks that are not the plan's: created by a person's act (an MDT outcome's follow-up actions),
# never moved or cancelled by re-planning.
UNPLANNED_KINDS = (TaskKind.MDT_ACTION,)
LAB_TASK_KINDS = (TaskKind.PRE_DOSE_LABS, TaskKind.CONFIRMATORY_LABS, TaskKind.POST_COURSE_LABS)


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
            # Lists in their order (the API, "My tasks"): read in index order, not sorted.
            models.Index(fields=["due", "kind", "cycle", "sequence", "id"],
                         name="caretask_list_order"),
            models.Index(fields=["state", "due"], name="caretask_open_due",
                         condition=models.Q(state="open")),
            # The caseload's "due by the horizon or snoozed": the snoozed half of the OR.
            models.Index(fields=["snoozed_until"], name="caretask_open_snoozed",
                         condition=models.Q(state="open", snoozed_until__isnull=False)),
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


class CareTaskEvent(TimelineEntry):
    """The history of a care task: every transition (and every reassignment or snooze), with
    who, when, from, to and why. An empty actor is NETcare itself (plan sync, fulfilment)."""

    task = models.ForeignKey(CareTask, on_delete=models.CASCADE, related_name="events")
    transition = models.CharField(max_length=32)
    source = models.CharField(max_length=12, choices=TaskState.choices)
    target = models.CharField(max_length=12, choices=TaskState.choices)


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


def calendar_token_digest(secret: str) -> str:
    """What the database keeps of a calendar feed secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


class CalendarToken(models.Model):
    """A user's calendar feed address. The URL carries an unguessable secret; the database keeps
    only its SHA-256 (`token_hash`), so a copy of the database opens no one's feed and NETcare
    can show the address only once, when it is made. Making a new one (a reset) replaces it; a
    password change or a deactivation revokes it (see `_revoke_calendar_on_access_change`)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="calendar_token")
    token_hash = models.CharField(max_length=64, unique=True,
                                  help_text="SHA-256 (hex) of the secret in the feed address.")
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar feed of user {self.user_id}"

    @classmethod
    def issue(cls, user) -> tuple[CalendarToken, str]:
        """A new secret for `user`'s feed, replacing any earlier one; the secret is returned to
        be shown once and is kept nowhere."""
        secret = secrets.token_urlsafe(32)
        token, _ = cls.objects.update_or_create(
            user=user, defaults={"token_hash": calendar_token_digest(secret)})
        return token, secret

    @classmethod
    def find(cls, secret: str) -> CalendarToken | None:
        """The token whose secret `secret` is, with its user and their centre; None if none."""
        digest = calendar_token_digest(secret)
        found = cls.objects.select_related("user__centre").filter(token_hash=digest).first()
        if found is None or not secrets.compare_digest(found.token_hash, digest):
            return None
        return found


def revoke_calendar_token(user, *, reason: str) -> bool:
    """Delete `user`'s calendar feed token (the address stops working at once), audited with
    `reason`; False when they had none."""
    token = CalendarToken.objects.filter(user=user).first()
    if token is None:
        return False
    audit.record(actor=None, action=AuditEvent.Action.DELETE, obj=token,
                 note=f"Calendar feed address revoked: {reason}")
    token.delete()
    return True


# Revocation on a password change or a deactivation. Signals on the user model rather than calls
# from the views that change them, because there are many such paths (the password-change page,
# the admin site's password form and user form, `manage.py changepassword`, the shell) and a
# missed one would leave a feed open: every save of a user that sets a new password (Django's
# `set_password` or `set_unusable_password`) or turns `is_active` off revokes the token, once the
# save has succeeded. Django's own re-hashing of an unchanged password at sign-in is not a change.
# A bulk `UPDATE` bypasses signals; the feed refuses an inactive user's token all the same.


@receiver(pre_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="coordinators.calendar_token.access_change")
def _note_access_change(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    instance._calendar_revoke_reason = None  # noqa: SLF001
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. `last_login` at every sign-in: nothing to compare
    stored = (sender._default_manager.filter(pk=instance.pk)  # noqa: SLF001
              .values("password", "is_active").first())
    if stored is None:
        return
    new_password = getattr(instance, "_password", None) is not None \
        or not instance.has_usable_password()
    if stored["password"] != instance.password and new_password:
        instance._calendar_revoke_reason = "password changed"  # noqa: SLF001
    elif stored["is_active"] and not instance.is_active:
        instance._calendar_revoke_reason = "user deactivated"  # noqa: SLF001


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="coordinators.calendar_token.revoke")
def _revoke_calendar_on_access_change(sender, instance, raw=False, **kwargs) -> None:
    reason = instance.__dict__.pop("_calendar_revoke_reason", None)
    if reason and not raw:
        revoke_calendar_token(instance, reason=reason)


# --- The caseload's read model (coordinators/caseload_model.py) ---------------------------------
# One row per patient on a centre's caseload for the day in CaseloadDay: what the caseload ranks
# and counts, so that its first page costs the same at 200 patients as at 10,000. Database
# triggers (migration 0009) mark a patient stale whenever any of their care tasks, cycles,
# courses or their record changes, however it is written; the page recomputes the stale ones
# before reading, and the whole centre when its day has changed.


class CaseloadDay(models.Model):
    """The day (the centre's) for which a centre's caseload entries were computed; None: to be
    computed again. Its row is also the lock that serialises refreshing them."""

    centre = models.OneToOneField("netcare.Centre", on_delete=models.CASCADE, primary_key=True,
                                  related_name="+")
    as_of = models.DateField(null=True)

    def __str__(self) -> str:
        return f"Caseload of centre {self.centre_id} as of {self.as_of}"


class CaseloadEntry(models.Model):
    """A patient on their centre's caseload on CaseloadDay.as_of: open tasks counted by bucket
    (overdue, due that day, in the next 7 days, snoozed) and blocked cycles, the first four as
    flags for the ranking, with the name the ranking sorts by."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE,
                                   primary_key=True, related_name="+")
    centre = models.ForeignKey("netcare.Centre", on_delete=models.CASCADE, related_name="+")
    external_id = models.UUIDField()
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    mrn = models.CharField(max_length=32)
    overdue = models.PositiveSmallIntegerField()
    blocked = models.PositiveSmallIntegerField()
    due_today = models.PositiveSmallIntegerField()
    upcoming = models.PositiveSmallIntegerField()
    n_overdue = models.PositiveIntegerField()
    n_today = models.PositiveIntegerField()
    n_upcoming = models.PositiveIntegerField()
    n_snoozed = models.PositiveIntegerField()
    n_blocked = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(
            fields=["centre", "-overdue", "-blocked", "-due_today", "-upcoming", "family_name",
                    "given_name", "patient"], name="caseload_entry_rank")]

    def __str__(self) -> str:
        return f"Caseload entry of patient {self.patient_id}"


class CaseloadStale(models.Model):
    """A patient whose caseload entry must be computed again (written by the triggers; no
    foreign key: a deleted patient's rows mark it too)."""

    patient_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"Caseload entry of patient {self.patient_id} to compute again"
