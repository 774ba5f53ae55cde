"""Interoperability records: registered systems, raw inbound messages, every result received
(for de-duplication) and the unmatched-results inbox.

Nothing here is ever deleted: a message is kept raw as it arrived, every result it carried keeps
its row (stored in the record, waiting in the inbox, preliminary or not used by NETcare), and an
inbox entry is matched or rejected with a reason, never removed.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings

from netcare.models import Centre


class SystemClient(models.Model):
    """A registered system (an integration engine, a laboratory, an EHR) that signs in with
    OAuth2 client credentials. It acts through its own service account (`account`: a user with
    no role and no password, bound to `centre`), which is the OAuth2 application's user, so the
    audit trail names the system. It may ask only for the scopes it was registered with."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, unique=True)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="systems")
    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="system_client")
    application = models.OneToOneField(oauth2_settings.APPLICATION_MODEL,
                                       on_delete=models.PROTECT, related_name="system_client")
    scopes = models.CharField(max_length=200, help_text="Space-separated, e.g. labs.write")
    mrn_authority = models.CharField(
        "MRN assigning authority", max_length=60, blank=True,
        help_text="When set, an HL7 PID-3 identifier is the MRN only with this assigning "
                  "authority.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class Channel(models.TextChoices):
    HL7_HTTP = "hl7-http", "HL7 v2 over HTTP"
    HL7_MLLP = "hl7-mllp", "HL7 v2 over MLLP"
    FHIR = "fhir", "FHIR R4"


def protocol_of(channel: str) -> str:
    """The family whose control ids are one space: an HL7 message resent over MLLP after HTTP
    is the same message."""
    return "hl7" if channel.startswith("hl7") else channel


class InboundMessage(models.Model):
    """One message as received, raw. The same control id (MSH-10) from one centre's protocol is
    the same message: stored once, and a resend gets the first answer again."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received"
        ACCEPTED = "accepted", "Accepted"  # every result stored (or known and not used)
        PARTLY = "partly", "Accepted, some results wait in the inbox"
        REJECTED = "rejected", "Rejected"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="inbound_messages")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    protocol = models.CharField(max_length=8)
    control_id = models.CharField(max_length=199, blank=True)
    message_type = models.CharField(max_length=40, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.RECEIVED)
    ack_code = models.CharField(max_length=2, blank=True)
    errors = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "protocol", "control_id"],
                                    condition=~models.Q(control_id=""),
                                    name="inbound_message_once_per_control_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.message_type} {self.control_id}"


class ReceivedResult(models.Model):
    """One result as sent (an OBX segment, a FHIR Observation): its stable key is stored once
    per centre, so the same result arriving again changes nothing."""

    class Status(models.TextChoices):
        STORED = "stored", "Stored in the record"
        UNMATCHED = "unmatched", "In the unmatched-results inbox"
        PRELIMINARY = "preliminary", "Preliminary (kept, not used for decisions)"
        NOT_USED = "not_used", "Known, not used by NETcare"

    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(InboundMessage, on_delete=models.PROTECT, related_name="results")
    result_key = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=Status.choices)
    mrn = models.CharField("MRN", max_length=64, blank=True)
    loinc = models.CharField("LOINC", max_length=20, blank=True)
    analyte = models.CharField(max_length=32, blank=True)
    value = models.CharField(max_length=64, blank=True)
    unit = models.CharField(max_length=40, blank=True)
    reference_range = models.CharField(max_length=60, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    laboratory = models.CharField(max_length=120, blank=True)
    lab_result = models.OneToOneField("patients.LabResult", on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="received_as")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message", "id"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "result_key"],
                                    name="received_result_once_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.loinc} {self.value} {self.unit} ({self.status})"


class Problem(models.TextChoices):
    """Why a result could not be stored by itself."""

    UNKNOWN_PATIENT = "unknown_patient", "No patient with this MRN at the centre"
    UNKNOWN_CODE = "unknown_code", "Unknown test code"
    NOT_A_NUMBER = "not_a_number", "Not a plain number (e.g. censored '<20')"
    IMPLAUSIBLE_VALUE = "implausible_value", "Implausible value"
    BAD_UNIT = "bad_unit", "Unit not accepted for this test"
    BAD_RANGE = "bad_range", "Reference range missing or not usable"
    NO_TIME = "no_time", "Collection time missing or not usable"
    NOT_FINAL = "not_final", "Result status is not final"
    CORRECTS_UNKNOWN = "corrects_unknown", "Correction of a result NETcare does not hold"


class UnmatchedResult(models.Model):
    """A result that waits in the centre's unmatched-results inbox until a navigator matches it
    to a patient (it then runs the path of a typed lab) or rejects it with a reason."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        MATCHED = "matched", "Matched"
        REJECTED = "rejected", "Rejected"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    received = models.OneToOneField(ReceivedResult, on_delete=models.PROTECT,
                                    related_name="inbox_entry")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    problem = models.CharField(max_length=20, choices=Problem.choices)
    detail = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+",
                                help_text="The patient it was matched to.")
    lab_result = models.OneToOneField("patients.LabResult", on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["centre", "created_at"], name="unmatched_waiting",
                                condition=models.Q(state="waiting"))]

    def __str__(self) -> str:
        return f"{self.get_problem_display()}: {self.received}"
