"""Read queries for referrals, always scoped by netcare.access."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from netcare import access
from patients.models import Patient
from referrals.models import OPEN_STATES, Referral, ReferralEvent, ReferralState

NEXT_STEP_FOR_REFERRER = {
    ReferralState.DRAFT: "Complete and submit the referral.",
    ReferralState.SUBMITTED: "Waiting for the NET centre to start the review.",
    ReferralState.UNDER_REVIEW: "The NET centre is reviewing the referral.",
    ReferralState.INFO_REQUESTED: "Answer the NET centre's question.",
    ReferralState.ACCEPTED: "Accepted: the centre will book the consult.",
    ReferralState.DECLINED: "Declined: see the centre's reason.",
    ReferralState.CONSULT_BOOKED: "Consult booked at the NET centre.",
    ReferralState.IN_TREATMENT: "In PRRT treatment at the NET centre.",
    ReferralState.REFERRED_BACK: "Referred back to you: read the summary and close.",
    ReferralState.CLOSED: "Closed.",
    ReferralState.WITHDRAWN: "Withdrawn.",
}


def referrals_visible(user) -> QuerySet[Referral]:
    """Referrals of the patients `user` may see, received by the patient's treating centre."""
    return access.scope_to_patients(
        user, Referral.objects.select_related("patient", "referring_oncologist", "centre",
                                              "reviewer")
    )


def referral_for(user, external_id) -> Referral:
    return access.get_object_for(user, referrals_visible(user), external_id=external_id)


def referral_timeline(referral: Referral) -> QuerySet[ReferralEvent]:
    return referral.events.select_related("actor").order_by("at", "id")


def patients_with_latest_referral(user) -> QuerySet[Patient]:
    """The user's visible patients, each annotated with its latest referral's state and id."""
    latest = Referral.objects.filter(patient=OuterRef("pk")).order_by("-created_at", "-id")
    return (access.visible_patients(user)
            .select_related("tumour", "centre")
            .annotate(referral_state=Subquery(latest.values("state")[:1]),
                      referral_id=Subquery(latest.values("external_id")[:1]))
            .order_by("family_name", "given_name", "id"))


def specialist_inbox(user) -> dict[str, list[Referral]]:
    """The specialist's referral inbox, in three trays, oldest submission first."""
    base = (referrals_visible(user).filter(centre_id=user.centre_id)
            .select_related("patient__tumour"))
    trays = {
        "new": [ReferralState.SUBMITTED, ReferralState.UNDER_REVIEW],
        "awaiting_information": [ReferralState.INFO_REQUESTED],
        "accepted_awaiting_consult": [ReferralState.ACCEPTED],
    }
    rows = list(base.filter(state__in=[s for states in trays.values() for s in states])
                .order_by("submitted_at", "created_at", "id"))
    return {name: [r for r in rows if r.state in states] for name, states in trays.items()}


def open_referrals(user) -> QuerySet[Referral]:
    return referrals_visible(user).filter(state__in=OPEN_STATES)


__all__ = ["NEXT_STEP_FOR_REFERRER", "open_referrals", "patients_with_latest_referral",
           "referral_for", "referral_timeline", "referrals_visible", "specialist_inbox"]
