"""The referral: a referring oncologist asks a NET specialist centre to take a patient on.

draft -> submitted -> under_review -> accepted | declined | info_requested (-> submitted);
accepted -> consult_booked -> in_treatment -> referred_back -> closed; withdrawn from any open
state. State changes only through referrals.services (the workflow funnel).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from netcare.models import Centre, Role, TimelineEntry
from patients.models import Patient


class ReferralState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    INFO_REQUESTED = "info_requested", "Information requested"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    CONSULT_BOOKED = "consult_booked", "Consult booked"
    IN_TREATMENT = "in_treatment", "In treatment"
    REFERRED_BACK = "referred_back", "Referred back"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_STATES = (
    ReferralState.DRAFT, ReferralState.SUBMITTED, ReferralState.UNDER_REVIEW,
    ReferralState.INFO_REQUESTED, ReferralState.ACCEPTED, ReferralState.CONSULT_BOOKED,
)


def _is_referrer(referral: Referral, user) -> bool:
    return user.role == Role.REFERRING_ONCOLOGIST and user.pk == referral.referring_oncologist_id


def _is_specialist(referral: Referral, user) -> bool:
    return user.role == Role.SPECIALIST and user.centre_id == referral.centre_id


def _is_centre_staff(referral: Referral, user) -> bool:
    return user.role in (Role.SPECIALIST, Role.NAVIGATOR) and user.centre_id == referral.centre_id


def _centre_staff_or_system(referral: Referral, user) -> bool:
    """The centre's team, or NETcare itself (None) when a course ends by itself."""
    return user is None or _is_centre_staff(referral, user)


def _closes(referral: Referral, user) -> bool:
    return _is_referrer(referral, user) or _is_centre_staff(referral, user)


class Referral(ConcurrentTransitionMixin, models.Model):
    class Urgency(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    referring_oncologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made"
    )
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="referrals",
                               help_text="The NET specialist centre receiving the referral.")
    state = FSMField(default=ReferralState.DRAFT, choices=ReferralState.choices, protected=True,
                     db_index=True)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)
    question = models.TextField("clinical question",
                                help_text="What you are asking the NET centre to decide.")
    history = models.TextField("clinical history", blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="referrals_reviewed")
    decision_reason = models.TextField(blank=True)
    consult_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField("summary for the referring oncologist", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["centre", "state"])]

    def __str__(self) -> str:
        return f"Referral {self.external_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # --- transitions (called only by referrals.services through netcare.workflow) ----------

    @transition(field=state, source=ReferralState.DRAFT, target=ReferralState.SUBMITTED,
                permission=_is_referrer)
    def submit(self) -> None:
        pass

    @transition(field=state, source=ReferralState.INFO_REQUESTED,
                target=ReferralState.SUBMITTED, permission=_is_referrer)
    def answer_info_request(self) -> None:
        pass

    @transition(field=state, source=ReferralState.SUBMITTED, target=ReferralState.UNDER_REVIEW,
                permission=_is_specialist)
    def start_review(self) -> None:
        pass

    @transition(field=state, source=ReferralState.UNDER_REVIEW, target=ReferralState.ACCEPTED,
                permission=_is_specialist)
    def accept(self) -> None:
        pass

    @transition(field=state, source=ReferralState.UNDER_REVIEW, target=ReferralState.DECLINED,
                permission=_is_specialist)
    def decline(self) -> None:
        pass

    @transition(field=state, source=ReferralState.UNDER_REVIEW,
                target=ReferralState.INFO_REQUESTED, permission=_is_specialist)
    def request_info(self) -> None:
        pass

    @transition(field=state, source=ReferralState.ACCEPTED, target=ReferralState.CONSULT_BOOKED,
                permission=_is_centre_staff)
    def book_consult(self) -> None:
        pass

    @transition(field=state, source=ReferralState.CONSULT_BOOKED,
                target=ReferralState.IN_TREATMENT, permission=_is_centre_staff)
    def start_treatment(self) -> None:
        pass

    @transition(field=state, source=ReferralState.IN_TREATMENT,
                target=ReferralState.REFERRED_BACK, permission=_centre_staff_or_system)
    def refer_back(self) -> None:
        pass

    @transition(field=state, source=ReferralState.REFERRED_BACK, target=ReferralState.CLOSED,
                permission=_closes)
    def close(self) -> None:
        pass

    @transition(field=state, source=list(OPEN_STATES), target=ReferralState.WITHDRAWN,
                permission=_is_referrer)
    def withdraw(self) -> None:
        pass


class ReferralEvent(TimelineEntry):
    """One step of a referral's timeline: every transition, with who, when, from, to and why."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    transition = models.CharField(max_length=32)
    source = models.CharField(max_length=20, choices=ReferralState.choices)
    target = models.CharField(max_length=20, choices=ReferralState.choices)


class ReferralNote(models.Model):
    """The pre-referral discussion and any later message between the two sides."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


    def __str__(self) -> str:
        return f"Note by {self.author_id} at {self.created_at:%Y-%m-%d %H:%M}"
