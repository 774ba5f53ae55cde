"""Core data: centres, users with their role, and the audit trail."""

from __future__ import annotations

import uuid
import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from rules import RulesConfig


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


class Centre(models.Model):
    """A NET specialist centre or a referring oncology practice."""

    class Kind(models.TextChoices):
        SPECIALIST_CENTRE = "specialist_centre", "NET specialist centre"
        REFERRING_PRACTICE = "referring_practice", "Referring practice"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    rules_settings = models.JSONField(
        default=dict, blank=True,
        help_text="This centre's choices for the clinical rules (e.g. precaution_days); "
        "anything not set keeps NETcare's documented default.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_specialist_centre(self) -> bool:
        return self.kind == self.Kind.SPECIALIST_CENTRE

    def clean(self) -> None:
        try:
            RulesConfig.from_mapping(self.rules_settings or {})
        except (ValueError, TypeError) as exc:
            raise ValidationError({"rules_settings": str(exc)}) from exc


class Role(models.TextChoices):
    NAVIGATOR = "navigator", "Nurse navigator"
    REFERRING_ONCOLOGIST = "referring_oncologist", "Referring oncologist"
    SPECIALIST = "specialist", "NET specialist"
    ADMINISTRATOR = "administrator", "Centre administrator"


class User(AbstractUser):
    """A NETcare user: one role, working at one centre or practice."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    specialty = models.CharField(
        max_length=64, blank=True, help_text="e.g. NET oncology, nuclear medicine"
    )
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[*Role.values, ""]), name="user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_navigator(self) -> bool:
        return self.role == Role.NAVIGATOR

    @property
    def is_specialist(self) -> bool:
        return self.role == Role.SPECIALIST

    @property
    def is_referring_oncologist(self) -> bool:
        return self.role == Role.REFERRING_ONCOLOGIST

    @property
    def is_centre_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR


class TimelineEntry(models.Model):
    """A step of a workflow's timeline (a referral's, a course's, a task's...): who took it
    (empty: NETcare itself), when, and why. Each timeline adds what it belongs to and its
    `transition`, `source` and `target`."""

    actor = models.ForeignKey("netcare.User", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", help_text="Empty: NETcare itself.")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.transition}: {self.source} -> {self.target}"

    @property
    def by_system(self) -> bool:
        return self.actor_id is None


class AuditEvent(models.Model):
    """Who looked at or changed what, and when. Rows are only ever added: besides save() and
    delete() below, a database trigger (migration 0004) refuses UPDATE and DELETE of a row."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        TRANSITION = "transition", "State change"
        EXPORT = "export", "Exported"
        LOGIN = "login", "Logged in"
        LOGIN_FAILED = "login_failed", "Failed login"
        LOGOUT = "logout", "Logged out"
        MFA_ENROLLED = "mfa_enrolled", "Second factor enrolled"
        MFA_VERIFIED = "mfa_verified", "Second factor verified"
        MFA_FAILED = "mfa_failed", "Second factor failed"
        MFA_REMOVED = "mfa_removed", "Second factor removed"
        LIST = "list", "Viewed a list"
        REFUSED = "refused", "Refused request"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    patient_id = models.UUIDField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    by_system = models.BooleanField(
        default=False, help_text="NETcare acted by itself (a computed change), not a person.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")


class AuditEventPatient(models.Model):
    """A patient whose data a list or page showed: one row per patient named by an audit event
    of action "list", so "who saw this patient" finds list reads too. Append-only, like its
    event (the same database triggers, migration 0005)."""

    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="patients")
    patient_id = models.UUIDField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "patient_id"],
                                               name="audit_patient_once_per_event")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.patient_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")


class Notification(models.Model):
    """A message to one user inside NETcare, mirrored by email. No PHI beyond ids in the URL."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=255, blank=True)

    class Meta:
        # The table keeps the name it had when notifications lived with the coordination app.
        db_table = "coordinators_notification"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"],
                                name="coordinator_recipie_62b653_idx")]

    def __str__(self) -> str:
        return self.subject


class HandlerFailure(models.Model):
    """A domain-event handler that raised: kept with its event so the sweep can run it again."""

    handler = models.CharField(max_length=200)
    event_type = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    error = models.CharField(max_length=500)
    attempts = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="handlerfailure_pending",
                                condition=models.Q(resolved_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.handler} on {self.event_type}"
