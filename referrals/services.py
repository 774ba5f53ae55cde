"""Referral use cases: one function per thing a user does, each through netcare.workflow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from netcare import audit, events
from netcare.clock import plan_date_error
from netcare.models import Role, User
from netcare.notifications import centre_team, notify
from netcare.workflow import (
    Step,
    TransitionConflict,
    TransitionForbidden,
    TransitionInvalid,
    run_transition,
)
from patients import services as patient_services
from referrals.models import Referral, ReferralEvent, ReferralNote, ReferralState

STEPS = {
    "submit": Step("submit", "submit the referral"),
    "answer_info_request": Step("answer_info_request", "answer the information request",
                                reason_required=True),
    "start_review": Step("start_review", "start reviewing the referral"),
    "accept": Step("accept", "accept the referral"),
    "decline": Step("decline", "decline the referral", reason_required=True),
    "request_info": Step("request_info", "ask for more information", reason_required=True),
    "book_consult": Step("book_consult", "book the consult"),
    "start_treatment": Step("start_treatment", "start treatment"),
    "refer_back": Step("refer_back", "refer the patient back"),
    "close": Step("close", "close the referral"),
    "withdraw": Step("withdraw", "withdraw the referral", reason_required=True),
}

# Who hears about each step: the referring oncologist, or the receiving centre's team.
_TO_REFERRER = {"start_review", "accept", "decline", "request_info", "book_consult",
                "start_treatment", "refer_back"}
_TO_CENTRE = {"submit", "answer_info_request", "withdraw", "close"}


def _notify_other_side(referral: Referral, transition_name: str, reason: str) -> None:
    url = reverse("referrals:detail", args=[referral.external_id])
    short = str(referral.external_id)[:8]
    label = referral.get_state_display().lower()
    body = f"Referral {short} is now {label}."
    if reason:
        body += f"\n\n{reason}"
    if transition_name in _TO_REFERRER:
        recipients = [referral.referring_oncologist]
    elif transition_name in _TO_CENTRE:
        recipients = centre_team(referral.centre_id)
    else:
        return
    notify(recipients=recipients, subject=f"Referral {short} {label}", body=body, url=url)


def referral_transition(
    *, referral: Referral, name: str, actor: User | None, reason: str = "",
    consult_at: dt.datetime | None = None,
) -> Referral:
    """Take the transition `name` on `referral` as `actor` (checked, locked, recorded, notified);
    `actor` None is NETcare itself."""
    if name not in STEPS:
        raise TransitionInvalid(f"Unknown referral action '{name}'.", field="action")
    step = STEPS[name]
    if name == "book_consult" and consult_at is None:
        raise TransitionInvalid("Give the consult date and time to book it.", field="consult_at")
    if name == "book_consult":
        date_error = plan_date_error(consult_at.astimezone(dt.UTC).date(),
                                     today=timezone.localdate(), what="The consult")
        if date_error:
            raise TransitionInvalid(date_error, field="consult_at")

    def apply(obj: Referral) -> None:
        now = timezone.now()
        if name in ("submit", "answer_info_request"):
            obj.submitted_at = now
        if name == "start_review":
            obj.reviewer = actor
        if name in ("accept", "decline"):
            obj.reviewer = actor
            obj.decision_reason = reason
        if name == "book_consult":
            obj.consult_at = consult_at
        if name == "refer_back" and reason:
            obj.summary = reason

    def record(obj: Referral, source: str, target: str) -> None:
        ReferralEvent.objects.create(referral=obj, actor=actor, transition=name, source=source,
                                     target=target, reason=reason)
        if name in ("answer_info_request", "request_info") and reason:
            ReferralNote.objects.create(referral=obj, author=actor, body=reason)

    def changed(obj: Referral, source: str, target: str) -> events.ReferralChanged:
        return events.ReferralChanged(model="referrals.Referral", object_id=obj.pk,
                                      transition=name, source=source, target=target,
                                      actor_id=getattr(actor, "pk", None),
                                      patient_id=obj.patient_id)

    return run_transition(
        queryset=Referral.objects.all(), pk=referral.pk, step=step, actor=actor, reason=reason,
        record_event=record, after_apply=apply,
        on_commit=lambda obj: _notify_other_side(obj, name, reason), event=changed,
    )


def referral_create(*, actor: User, patient, centre, question: str, history: str = "",
                    urgency: str = Referral.Urgency.ROUTINE) -> Referral:
    """A draft referral of `patient` to the specialist `centre`, by its referring oncologist."""
    if actor.role != Role.REFERRING_ONCOLOGIST:
        raise TransitionForbidden("Only a referring oncologist can start a referral.")
    if not centre.is_specialist_centre:
        raise TransitionInvalid("Referrals go to a NET specialist centre.", field="centre")
    if patient.centre_id != centre.pk:
        raise TransitionInvalid("Refer the patient to the centre that holds their record.",
                                field="centre")
    with transaction.atomic():
        referral = Referral.objects.create(
            patient=patient, referring_oncologist=actor, centre=centre, question=question,
            history=history, urgency=urgency,
        )
        audit.record_create(actor=actor, obj=referral)
    return referral


def referral_note_add(*, referral: Referral, author: User, body: str) -> ReferralNote:
    """Add to the discussion thread; both sides may write while the referral is open."""
    body = (body or "").strip()
    if not body:
        raise TransitionInvalid("Write a message first.", field="body")
    if author.role not in (Role.REFERRING_ONCOLOGIST, Role.SPECIALIST, Role.NAVIGATOR):
        raise TransitionForbidden("Your role cannot write in referral discussions.")
    if referral.state in (ReferralState.CLOSED, ReferralState.WITHDRAWN,
                          ReferralState.DECLINED):
        raise TransitionConflict("The referral is closed: start a new one to continue.")
    with transaction.atomic():
        note = ReferralNote.objects.create(referral=referral, author=author, body=body)
        audit.record(actor=author, action="create", obj=referral, note="discussion note")
        if author.role == Role.REFERRING_ONCOLOGIST:
            recipients = centre_team(referral.centre_id)
        else:
            recipients = [referral.referring_oncologist]
        short = str(referral.external_id)[:8]
        url = reverse("referrals:detail", args=[referral.external_id])
        transaction.on_commit(lambda: notify(
            recipients=recipients, subject=f"New message on referral {short}",
            body=f"{author} wrote on referral {short}.", url=url))
    return note


def referral_intake(
    *, actor: User, centre, patient: dict[str, Any], tumour: dict[str, Any],
    imaging: list[dict[str, Any]], labs: list[dict[str, Any]], question: str,
    history: str = "", urgency: str = Referral.Urgency.ROUTINE, submit: bool = False,
    performance: dict[str, Any] | None = None,
) -> Referral:
    """The new-referral flow: patient, tumour profile, SSTR imaging, labs, the performance status
    (if assessed) and the referral in one transaction; nothing is saved unless all of it is
    valid. Validation errors name the field (``labs[1].unit``)."""
    if actor.role != Role.REFERRING_ONCOLOGIST:
        raise TransitionForbidden("Only a referring oncologist can start a referral.")
    if not centre.is_specialist_centre:
        raise TransitionInvalid("Referrals go to a NET specialist centre.", field="centre")
    with transaction.atomic():
        record = patient_services.patient_register(
            actor=actor, centre=centre, referring_oncologist=actor, data=patient)
        _prefixed(lambda: patient_services.tumour_profile_save(
            actor=actor, patient=record, data=tumour), "tumour")
        for index, study in enumerate(imaging):
            _prefixed(lambda study=study: patient_services.imaging_add(
                actor=actor, patient=record, **study), f"imaging[{index}]")
        for index, lab in enumerate(labs):
            _prefixed(lambda lab=lab: patient_services.lab_result_add(
                actor=actor, patient=record, **lab), f"labs[{index}]")
        if performance:
            _prefixed(lambda: patient_services.performance_status_add(
                actor=actor, patient=record, **performance), "performance")
        referral = referral_create(actor=actor, patient=record, centre=centre,
                                   question=question, history=history, urgency=urgency)
    if submit:
        referral = referral_transition(referral=referral, name="submit", actor=actor)
    return referral


def _prefixed(call, prefix: str):
    """Run `call`, renaming the fields of a ValidationError to ``prefix.field``."""
    try:
        return call()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise ValidationError({f"{prefix}.{field}": errors
                                   for field, errors in exc.error_dict.items()}) from None
        raise ValidationError({prefix: exc.messages}) from None


__all__ = ["STEPS", "ReferralState", "referral_create", "referral_intake", "referral_note_add",
           "referral_transition"]
