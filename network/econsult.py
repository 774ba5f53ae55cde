"""E-consults before a referral: a referring oncologist asks a NET centre (its NET contact) a
question about a patient they see (candidacy, which scan, what labs) with the key data; the
centre's specialist or NET contact answers in NETcare; "refer now" turns an answered e-consult
into a referral without retyping.

asked -> answered -> closed; asked -> withdrawn; refer (from answered or closed, once) closes it
with the referral it became. Every step goes through netcare.workflow's funnel: a row lock, the
state and role checks, an EConsultEvent row and an audit row in one transaction; the other side
is notified on commit. Asking is recorded the same way (an event "ask" and an audit row).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from netcare import access, audit
from netcare.clock import past_date_error, user_today
from netcare.models import Centre, Role, User
from netcare.notifications import centre_team, notify
from netcare.workflow import (
    Step,
    TransitionConflict,
    TransitionForbidden,
    TransitionInvalid,
    check_transition,
    run_transition,
)
from network.models import EConsult, EConsultEvent, EConsultState, NetContact
from patients.models import TumourProfile
from referrals.models import Referral
from referrals.services import referral_intake, referral_transition

STEPS = {
    "answer": Step("answer_question", "answer the e-consult"),
    "close": Step("close", "close the e-consult"),
    "refer": Step("refer", "refer the patient from the e-consult"),
    "withdraw": Step("withdraw", "withdraw the e-consult"),
}

# The structured summary an oncologist gives with the question (and "refer now" carries over).
SUMMARY_FIELDS = ["centre", "question", "primary_site", "grade", "ki67_percent", "sstr_imaging",
                  "sstr_modality", "sstr_imaging_on", "sstr_positive", "current_ssa", "labs_on",
                  "labs"]
ANSWER_MAX_CHARS = 10_000


# --- pure rules ---------------------------------------------------------------------------------


def response_hours(asked_at: dt.datetime, answered_at: dt.datetime) -> Decimal:
    """Hours from the question to the answer, to one decimal (half up); never negative."""
    seconds = max((answered_at - asked_at).total_seconds(), 0)
    return (Decimal(str(seconds)) / Decimal(3600)).quantize(Decimal("0.1"),
                                                            rounding=ROUND_HALF_UP)


def differentiation_of(grade: str) -> str:
    """The differentiation a WHO grade says (NET G1-G3 are well differentiated, an NEC poorly);
    "" when the grade is not known."""
    if grade in (TumourProfile.Grade.G1, TumourProfile.Grade.G2, TumourProfile.Grade.G3):
        return TumourProfile.Differentiation.WELL
    if grade == TumourProfile.Grade.NEC:
        return TumourProfile.Differentiation.POOR
    return ""


def summary_errors(data: dict[str, Any], *, today: dt.date) -> dict[str, str]:
    """What is wrong with an e-consult's summary, by field ({} when nothing is): dates of what
    happened from 1900 to today; SSTR imaging "yes" needs its date, "no" takes no scan details."""
    errors: dict[str, str] = {}
    if not (data.get("question") or "").strip():
        errors["question"] = "Write the question for the centre."
    for name, what in (("sstr_imaging_on", "The imaging date"), ("labs_on", "The labs date")):
        day = data.get(name)
        if day is not None:
            error = past_date_error(day, today=today, what=what)
            if error:
                errors[name] = error
    if data.get("sstr_imaging"):
        if data.get("sstr_imaging_on") is None and "sstr_imaging_on" not in errors:
            errors["sstr_imaging_on"] = "Give the date of the SSTR imaging."
    else:
        for name in ("sstr_modality", "sstr_imaging_on", "sstr_positive"):
            if data.get(name) not in (None, ""):
                errors[name] = "Answer 'SSTR imaging done' with yes to give the scan's details."
    if data.get("labs_on") is not None and not (data.get("labs") or "").strip():
        errors["labs"] = "Write the recent labs drawn on that day."
    return errors


def referral_history(econsult: EConsult) -> str:
    """The clinical history the referral starts with: what the e-consult said that the referral
    form has no field of its own for (the grade as given, the labs as written, the answer)."""
    lines = [f"From e-consult {str(econsult.external_id)[:8]} "
             f"({econsult.asked_at:%d %b %Y}): {econsult.question.strip()}"]
    lines.append(f"WHO grade given: {econsult.get_grade_display()}"
                 + (f", Ki-67 {econsult.ki67_percent}%" if econsult.ki67_percent is not None
                    else "") + ".")
    if econsult.sstr_imaging:
        positive = {True: "positive", False: "negative", None: "uptake not stated"}[
            econsult.sstr_positive]
        modality = econsult.get_sstr_modality_display() or "SSTR imaging"
        lines.append(f"{modality} on {econsult.sstr_imaging_on:%d %b %Y}: {positive}.")
    else:
        lines.append("No SSTR imaging yet.")
    if econsult.labs.strip():
        drawn = f" ({econsult.labs_on:%d %b %Y})" if econsult.labs_on else ""
        lines.append(f"Recent labs{drawn}: {econsult.labs.strip()}")
    if econsult.answer.strip():
        by = f" by {econsult.answered_by}" if econsult.answered_by_id else ""
        when = f" on {econsult.answered_at:%d %b %Y}" if econsult.answered_at else ""
        lines.append(f"The centre's answer{by}{when}: {econsult.answer.strip()}")
    return "\n".join(lines)


def referral_initial(econsult: EConsult) -> dict[str, dict[str, Any]]:
    """The new-referral form's initial values, by form (patient, tumour, imaging, labs,
    referral), from every field of the e-consult's summary."""
    imaging: dict[str, Any] = {}
    if econsult.sstr_imaging:
        imaging = {"modality": econsult.sstr_modality, "performed_on": econsult.sstr_imaging_on,
                   "sstr_positive": econsult.sstr_positive}
    return {
        "patient": {"current_ssa": econsult.current_ssa},
        "tumour": {"primary_site": econsult.primary_site,
                   "differentiation": differentiation_of(econsult.grade),
                   "ki67_percent": econsult.ki67_percent},
        "imaging": imaging,
        "labs": {"collected_on": econsult.labs_on} if econsult.labs_on else {},
        "referral": {"centre": econsult.centre_id, "question": econsult.question,
                     "history": referral_history(econsult)},
    }


# --- reads, scoped --------------------------------------------------------------------------


def econsults_for(user) -> QuerySet[EConsult]:
    """The e-consults `user` may see: a referring oncologist their own; a centre's NET
    specialists and navigators those sent to their centre; nobody else any."""
    queryset = EConsult.objects.select_related("centre", "asked_by", "answered_by",
                                               "referral__patient")
    if user is None or not user.is_authenticated or not user.is_active or access.is_system(user):
        return queryset.none()
    if user.role == Role.REFERRING_ONCOLOGIST:
        return queryset.filter(asked_by=user)
    if user.role in (Role.SPECIALIST, Role.NAVIGATOR) and user.centre_id is not None \
            and user.centre.is_specialist_centre:
        return queryset.filter(centre_id=user.centre_id)
    return queryset.none()


def econsult_for(user, external_id) -> EConsult:
    """One e-consult `user` may see, or Http404 (also when it exists out of their scope)."""
    try:
        return econsults_for(user).get(external_id=external_id)
    except (EConsult.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc


def econsult_timeline(econsult: EConsult) -> list[EConsultEvent]:
    return list(econsult.events.select_related("actor").order_by("at", "id"))


def answerers(centre_id: int) -> list[User]:
    """Who hears of a new question: the centre's NET contacts with a NETcare account, else its
    whole team."""
    contacts = [contact.user for contact in NetContact.objects.filter(
        centre_id=centre_id, active=True, kind=NetContact.Kind.NET_CONTACT,
        user__isnull=False, user__is_active=True).select_related("user")]
    return contacts or centre_team(centre_id)


def available_steps(econsult: EConsult, user) -> list[str]:
    """The steps `user` may take on `econsult` now (refer is a page of its own)."""
    names = {t.name for t in econsult.get_available_user_state_transitions(user)}
    return [name for name, step in STEPS.items() if step.name in names]


# --- writes ---------------------------------------------------------------------------------


def _url(econsult: EConsult) -> str:
    return reverse("network:econsult", args=[econsult.external_id])


def econsult_ask(*, actor: User, centre: Centre, data: dict[str, Any]) -> EConsult:
    """A referring oncologist's question to the NET `centre`, with the summary in `data` (the
    SUMMARY_FIELDS but the centre). Errors name the field; the centre's NET contacts are told."""
    if actor is None or actor.role != Role.REFERRING_ONCOLOGIST:
        raise TransitionForbidden("Only a referring oncologist can ask the centre.")
    if centre is None or not centre.is_specialist_centre:
        raise TransitionInvalid("Ask a NET specialist centre.", field="centre")
    fields = [name for name in SUMMARY_FIELDS if name != "centre"]
    unknown = set(data) - set(fields)
    if unknown:
        raise TransitionInvalid(f"Unknown field {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    errors = summary_errors(data, today=user_today(actor))
    if errors:
        raise ValidationError(errors)
    econsult = EConsult(centre=centre, asked_by=actor, asked_at=timezone.now(),
                        **{name: data[name] for name in fields if name in data})
    econsult.question = econsult.question.strip()
    econsult.labs = (econsult.labs or "").strip()
    econsult.full_clean(exclude=["referral", "answered_by", "state"])
    with transaction.atomic():
        econsult.save()
        EConsultEvent.objects.create(econsult=econsult, actor=actor, transition="ask",
                                     source="", target=econsult.state)
        audit.record_create(actor=actor, obj=econsult)
        recipients = answerers(centre.pk)
        short = str(econsult.external_id)[:8]
        transaction.on_commit(lambda: notify(
            recipients=recipients, subject=f"New e-consult {short}",
            body=f"{actor} asks the centre a question before a referral (e-consult {short}).",
            url=_url(econsult)))
    return econsult


def _record(econsult: EConsult, actor, name: str, reason: str):
    def record(obj: EConsult, source: str, target: str) -> None:
        EConsultEvent.objects.create(econsult=obj, actor=actor, transition=name, source=source,
                                     target=target, reason=reason)
    return record


def _notify(obj: EConsult, name: str, actor, text: str) -> None:
    short = str(obj.external_id)[:8]
    if name == "answer":
        notify(recipients=[obj.asked_by], subject=f"E-consult {short} answered",
               body=f"{actor} answered your e-consult {short}.", url=_url(obj))
    elif name in ("withdraw", "close") and actor is not None \
            and actor.pk == obj.asked_by_id:
        label = obj.get_state_display().lower()
        body = f"{actor} {label} e-consult {short}." + (f"\n\n{text}" if text else "")
        notify(recipients=answerers(obj.centre_id), subject=f"E-consult {short} {label}",
               body=body, url=_url(obj))


def econsult_transition(*, econsult: EConsult, name: str, actor: User | None, reason: str = "",
                        answer: str = "", referral: Referral | None = None) -> EConsult:
    """Take the step `name` (answer, close, refer, withdraw) on `econsult` as `actor`: checked,
    locked, recorded, audited and the other side notified on commit."""
    if name not in STEPS:
        raise TransitionInvalid(f"Unknown e-consult action '{name}'.", field="action")
    step = STEPS[name]
    if name == "refer" and econsult.referral_id is not None:
        raise TransitionConflict("This e-consult has already become a referral.")
    check_transition(econsult, step, actor)  # a wrong state or role first: 409, 403
    answer = (answer or "").strip()
    if name == "answer" and not answer:
        raise TransitionInvalid("Write the answer to the question.", field="answer")
    if name == "answer" and len(answer) > ANSWER_MAX_CHARS:
        raise TransitionInvalid(f"Keep the answer under {ANSWER_MAX_CHARS} characters.",
                                field="answer")
    if name == "refer" and referral is None:
        raise TransitionInvalid("Refer the patient through the referral form.", field="referral")

    def apply(obj: EConsult) -> None:
        now = timezone.now()
        if name == "answer":
            obj.answer, obj.answered_by, obj.answered_at = answer, actor, now
            obj.response_hours = response_hours(obj.asked_at, now)
        if name in ("close", "refer", "withdraw") and obj.closed_at is None:
            obj.closed_at = now
        if name == "refer":
            obj.referral = referral

    return run_transition(
        queryset=EConsult.objects.all(), pk=econsult.pk, step=step, actor=actor,
        reason=reason,
        record_event=_record(econsult, actor, name, reason), after_apply=apply,
        on_commit=lambda obj: _notify(obj, name, actor, reason))


def check_may_refer(*, actor, econsult: EConsult) -> None:
    """Refuse "refer now" to anyone but the asker of an answered (or closed) e-consult that has
    not become a referral yet (409 or 403, as the funnel says)."""
    if econsult.referral_id is not None:
        raise TransitionConflict("This e-consult has already become a referral.")
    check_transition(econsult, STEPS["refer"], actor)


def econsult_refer(*, actor: User, econsult: EConsult, intake: dict[str, Any],
                   submit: bool = False) -> Referral:
    """"Refer now": the new-referral flow (referrals.services.referral_intake, with the patient
    `intake` holds) to the centre asked, and the e-consult closed with the referral it became,
    all in one transaction; the referral is submitted when asked."""
    check_may_refer(actor=actor, econsult=econsult)
    with transaction.atomic():
        referral = referral_intake(actor=actor, centre=econsult.centre, submit=False, **intake)
        econsult_transition(econsult=econsult, name="refer", actor=actor, referral=referral,
                            reason=f"Referred: referral {str(referral.external_id)[:8]}.")
        if submit:
            referral = referral_transition(referral=referral, name="submit", actor=actor)
    return referral


__all__ = ["STEPS", "SUMMARY_FIELDS", "EConsultState", "answerers", "available_steps",
           "check_may_refer", "differentiation_of", "econsult_ask", "econsult_for",
           "econsult_refer", "econsult_timeline", "econsult_transition", "econsults_for",
           "referral_history", "referral_initial", "response_hours", "summary_errors"]
