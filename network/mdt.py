"""MDT case conferences: every change, through one funnel.

A centre's navigators and NET specialists schedule meetings, add members by discipline, list
their centre's patients with the question to answer (NETcare pre-fills the case summary from the
record, network.mdt_summary) and invite a listed patient's referring oncologist to attend
virtually. In the meeting the chair or a NET specialist records the outcome: the recommendation
with its rationale, who took part and the follow-up actions; signing makes the case read-only,
turns each action into a care task on the patient's current course at the centre (an action of a
patient without one stays an MDT action, marked done here) and notifies the referring
oncologist. Transitions run through netcare.workflow.run_transition; every other change writes
the same rows: an :class:`~network.models.MdtEvent`, an audit row, in one transaction.

Who sees what: network.mdt_selectors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from coordinators.models import OwnerParty, TaskKind
from coordinators.services import task_create_by_person
from netcare import audit
from netcare.access import (
    can_change_patient,
    can_view_patient,
)
from netcare.clock import (
    EARLIEST_MOMENT,
    centre_today,
    centre_zone,
    local_date,
    plan_date_error,
)
from netcare.models import AuditEvent, Role, User
from netcare.notifications import notify
from netcare.workflow import (
    Step,
    TransitionConflict,
    TransitionForbidden,
    TransitionInvalid,
    check_transition,
    run_transition,
)
from network.mdt_selectors import (
    OPEN_MEETING_STATES,
    current_course,
    is_centre_team,
)
from network.mdt_summary import case_summary
from network.models import (
    CaseState,
    Discipline,
    MdtAction,
    MdtCase,
    MdtEvent,
    MdtMeeting,
    MdtMember,
    MeetingState,
    Recommendation,
)
from patients.models import Patient
from referrals.models import Referral

MEETING_STEPS = {
    "hold": Step("hold", "mark the meeting held"),
    "close": Step("close", "close the meeting"),
    "cancel": Step("cancel", "cancel the meeting", reason_required=True),
}
CASE_STEPS = {
    "sign": Step("sign", "sign the MDT outcome"),
    "defer": Step("defer", "defer the case", reason_required=True),
    "withdraw": Step("withdraw", "withdraw the case", reason_required=True),
}
MAX_ACTIONS = 10
TEXT_LIMITS = {"question": 2000, "rationale": 4000, "place": 200, "title": 120,
               "external_name": 120, "text": 500}


# --- checks ------------------------------------------------------------------------------


def _check_team(actor, meeting: MdtMeeting, what: str) -> None:
    if not is_centre_team(actor, meeting.centre_id):
        raise TransitionForbidden(f"Only the centre's navigators and NET specialists {what}.")


def _check_open(meeting: MdtMeeting, what: str) -> None:
    if meeting.state not in OPEN_MEETING_STATES:
        raise TransitionConflict(
            f"Cannot {what}: the meeting is {meeting.get_state_display().lower()}.")


def _text(value, field: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise TransitionInvalid(f"The {field.replace('_', ' ')} is required.", field=field)
    limit = TEXT_LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise TransitionInvalid(f"Keep the {field.replace('_', ' ')} under {limit} characters.",
                                field=field)
    return text


def _event(*, meeting: MdtMeeting, case: MdtCase | None, actor, name: str, source: str,
           target: str, reason: str = "") -> MdtEvent:
    return MdtEvent.objects.create(meeting=meeting, case=case, actor=actor, transition=name,
                                   source=source, target=target, reason=reason)


# --- meetings ------------------------------------------------------------------------------


def _team_member(centre_id: int, user, field: str) -> User:
    if user is None or not is_centre_team(user, centre_id):
        raise TransitionInvalid("Choose one of the centre's navigators or NET specialists.",
                                field=field)
    return user


def _discipline_of(user) -> str:
    if user.role == Role.NAVIGATOR:
        return Discipline.NURSING
    by_specialty = {label.lower(): value for value, label in Discipline.choices}
    return by_specialty.get((user.specialty or "").strip().lower(), Discipline.NET_ONCOLOGY)


def meeting_schedule(*, actor, starts_at: dt.datetime, chair, duration_minutes: int = 60,
                     place: str = "", video_link: str = "",
                     title: str = "NET case conference") -> MdtMeeting:
    """Schedule a meeting of the actor's centre, chaired by one of its team (who becomes its
    first member), in a room, by video or both."""
    centre = getattr(actor, "centre", None)
    if centre is None or not is_centre_team(actor, centre.pk):
        raise TransitionForbidden("Only a centre's navigators and NET specialists schedule "
                                  "MDT meetings.")
    if not isinstance(starts_at, dt.datetime) or timezone.is_naive(starts_at):
        raise TransitionInvalid("Give the date and time with its time zone.", field="starts_at")
    if starts_at < EARLIEST_MOMENT:
        raise TransitionInvalid("The meeting is before 1900.", field="starts_at")
    error = plan_date_error(local_date(starts_at, centre), today=centre_today(centre),
                            what="The meeting")
    if error:
        raise TransitionInvalid(error, field="starts_at")
    if not isinstance(duration_minutes, int) or not 15 <= duration_minutes <= 480:
        raise TransitionInvalid("A meeting lasts 15 to 480 minutes.", field="duration_minutes")
    place, title = _text(place, "place", required=False), _text(title, "title")
    video_link = (video_link or "").strip()
    if video_link and not video_link.startswith("https://"):
        raise TransitionInvalid("Give the video link as an https:// address.",
                                field="video_link")
    if not place and not video_link:
        raise TransitionInvalid("Give the room, the video link or both.", field="place")
    chair = _team_member(centre.pk, chair, "chair")
    with transaction.atomic():
        meeting = MdtMeeting.objects.create(
            centre=centre, title=title, starts_at=starts_at, duration_minutes=duration_minutes,
            place=place, video_link=video_link, chair=chair, created_by=actor)
        MdtMember.objects.create(meeting=meeting, user=chair, discipline=_discipline_of(chair))
        _event(meeting=meeting, case=None, actor=actor, name="schedule", source="",
               target=meeting.state, reason=f"Chaired by {chair}.")
        audit.record_create(actor=actor, obj=meeting)
    return meeting


def meeting_transition(*, actor, meeting: MdtMeeting, name: str, reason: str = "") -> MdtMeeting:
    """Mark the meeting held, close it (every case decided: signed, deferred or withdrawn) or
    cancel it (its listed cases are deferred, with the reason)."""
    step = MEETING_STEPS[name]
    reason = (reason or "").strip()

    def record(obj: MdtMeeting, source: str, target: str) -> None:
        _event(meeting=obj, case=None, actor=actor, name=name, source=source, target=target,
               reason=reason)

    def guard(obj: MdtMeeting) -> None:
        listed = obj.cases.filter(state=CaseState.LISTED).count()
        if name == "close" and listed:
            raise TransitionInvalid(
                f"{listed} case{'s' if listed > 1 else ''} still listed: sign, defer or "
                "withdraw each before closing the meeting.", field="cases")
        if name == "cancel":
            obj.reason = reason

    with transaction.atomic():
        meeting = run_transition(
            queryset=MdtMeeting.objects.select_related("centre"), pk=meeting.pk, step=step,
            actor=actor, reason=reason, record_event=record, before_apply=guard)
        if name == "cancel":
            for case in meeting.cases.filter(state=CaseState.LISTED).order_by("position", "id"):
                case_transition(actor=actor, case=case, name="defer",
                                reason=f"The meeting was cancelled: {reason}")
    return meeting


# --- members -------------------------------------------------------------------------------


def member_add(*, actor, meeting: MdtMeeting, discipline: str, user=None,
               external_name: str = "", virtual: bool = False) -> MdtMember:
    """Add one of the centre's team, or a guest without an account (a visiting surgeon, a
    pathologist of another hospital), by discipline. Referring oncologists are invited to
    their own patients' cases with :func:`member_invite_oncologist`."""
    _check_team(actor, meeting, "add members")
    if discipline not in Discipline.values:
        raise TransitionInvalid("Choose a discipline.", field="discipline")
    external_name = _text(external_name, "external_name", required=False)
    if (user is None) == (not external_name):
        raise TransitionInvalid("Choose a member of the team or name a guest, not both.",
                                field="user")
    if user is not None:
        _team_member(meeting.centre_id, user, "user")
    with transaction.atomic():
        locked = MdtMeeting.objects.select_for_update().get(pk=meeting.pk)
        _check_open(locked, "add members")
        if user is not None and locked.members.filter(user=user).exists():
            raise TransitionConflict(f"{user} is a member already.", field="user")
        member = MdtMember.objects.create(meeting=locked, user=user, external_name=external_name,
                                          discipline=discipline, virtual=bool(virtual))
        _event(meeting=locked, case=None, actor=actor, name="member_add", source=locked.state,
               target=locked.state, reason=f"{member.name} ({member.get_discipline_display()})")
        audit.record_create(actor=actor, obj=member)
    return member


def member_invite_oncologist(*, actor, case: MdtCase, oncologist=None) -> MdtMember:
    """Invite the referring (or primary) oncologist of a listed case's patient to the meeting,
    to attend virtually: they see only their own patients' cases. They are told in NETcare and
    by email, with the time and the link to the meeting page."""
    meeting = case.meeting
    _check_team(actor, meeting, "invite oncologists")
    patient = case.patient
    oncologist = oncologist or patient.primary_oncologist or patient.referring_oncologist
    if oncologist.pk not in (patient.referring_oncologist_id, patient.primary_oncologist_id):
        raise TransitionInvalid("Invite the patient's own referring or primary oncologist.",
                                field="oncologist")
    if not (oncologist.is_active and oncologist.role == Role.REFERRING_ONCOLOGIST):
        raise TransitionInvalid("That oncologist cannot sign in to NETcare.",
                                field="oncologist")
    with transaction.atomic():
        locked = MdtMeeting.objects.select_for_update().get(pk=meeting.pk)
        _check_open(locked, "invite oncologists")
        if MdtCase.objects.get(pk=case.pk).state != CaseState.LISTED:
            raise TransitionConflict("Invite an oncologist to a listed case only.")
        if locked.members.filter(user=oncologist).exists():
            raise TransitionConflict(f"{oncologist} is invited already.", field="oncologist")
        member = MdtMember.objects.create(meeting=locked, user=oncologist, virtual=True,
                                          discipline=Discipline.MEDICAL_ONCOLOGY)
        _event(meeting=locked, case=case, actor=actor, name="invite", source=locked.state,
               target=locked.state, reason=f"{oncologist} invited to attend virtually.")
        audit.record_create(actor=actor, obj=member)
        when = timezone.localtime(locked.starts_at, timezone=centre_zone(locked.centre))
        notify(recipients=[oncologist],
               subject=f"Invitation: {locked.title} on {when:%d %b %Y %H:%M}",
               body=f"{locked.centre.name} invites you to attend its MDT meeting on "
                    f"{when:%A %d %B %Y at %H:%M} ({locked.centre.time_zone}) by video, for "
                    f"the discussion of your patient (case {str(case.external_id)[:8]}). The "
                    "meeting page in NETcare has the link.",
               url=reverse("network:mdt-meeting", args=[locked.external_id]))
    return member


def member_remove(*, actor, member: MdtMember) -> None:
    """Take a member off the meeting: never the chair, never someone recorded as taking part in
    a signed case."""
    meeting = member.meeting
    _check_team(actor, meeting, "remove members")
    with transaction.atomic():
        locked = MdtMeeting.objects.select_for_update().get(pk=meeting.pk)
        _check_open(locked, "remove members")
        member = MdtMember.objects.select_related("user").get(pk=member.pk)
        if member.user_id is not None and member.user_id == locked.chair_id:
            raise TransitionConflict("The chair stays a member.", field="member")
        if member.cases_attended.filter(state=CaseState.DISCUSSED).exists():
            raise TransitionConflict(f"{member.name} took part in a signed case: they stay.",
                                     field="member")
        _event(meeting=locked, case=None, actor=actor, name="member_remove", source=locked.state,
               target=locked.state, reason=f"{member.name} ({member.get_discipline_display()})")
        audit.record(actor=actor, action=AuditEvent.Action.DELETE, obj=member,
                     changes={k: [v, None] for k, v in audit.snapshot(member).items()})
        member.cases_attended.clear()
        member.delete()


def member_set_attended(*, actor, member: MdtMember, attended: bool) -> MdtMember:
    """Record whether a member attended the meeting."""
    _check_team(actor, member.meeting, "record attendance")
    with transaction.atomic():
        locked = MdtMeeting.objects.select_for_update().get(pk=member.meeting_id)
        if locked.state == MeetingState.CANCELLED:
            raise TransitionConflict("The meeting was cancelled.")
        member = MdtMember.objects.select_related("user").get(pk=member.pk)
        if member.attended == bool(attended):
            return member
        before = audit.snapshot(member, ["attended"])
        member.attended = bool(attended)
        member.save(update_fields=["attended"])
        _event(meeting=locked, case=None, actor=actor, name="attendance", source=locked.state,
               target=locked.state,
               reason=f"{member.name} {'attended' if attended else 'did not attend'}.")
        audit.record_update(actor=actor, obj=member, before=before)
    return member


# --- the case list -------------------------------------------------------------------------


def case_list(*, actor, meeting: MdtMeeting, patient: Patient, question: str,
              referral: Referral | None = None) -> MdtCase:
    """List a patient of the centre on the meeting with the question to answer; the summary is
    taken from the record now (the centre's today)."""
    _check_team(actor, meeting, "list cases")
    if not can_view_patient(actor, patient) or patient.centre_id != meeting.centre_id:
        raise TransitionInvalid("Choose a patient of the centre.", field="patient")
    if referral is not None and (referral.patient_id != patient.pk
                                 or referral.centre_id != meeting.centre_id):
        raise TransitionInvalid("That referral is not this patient's to the centre.",
                                field="referral")
    question = _text(question, "question")
    with transaction.atomic():
        locked = MdtMeeting.objects.select_for_update().select_related("centre").get(
            pk=meeting.pk)
        _check_open(locked, "list cases")
        if locked.cases.filter(patient=patient, state__in=[CaseState.LISTED,
                                                           CaseState.DISCUSSED]).exists():
            raise TransitionConflict("The patient is on this meeting's list already.",
                                     field="patient")
        last = locked.cases.aggregate(last=Max("position"))["last"] or 0
        case = MdtCase.objects.create(
            meeting=locked, patient=patient, referral=referral, position=last + 1,
            question=question, summary=case_summary(patient, centre_today(locked.centre)),
            summary_at=timezone.now(), added_by=actor)
        _event(meeting=locked, case=case, actor=actor, name="list", source="",
               target=case.state, reason=question[:255])
        audit.record_create(actor=actor, obj=case)
    return case


def _locked_case(case: MdtCase) -> MdtCase:
    return (MdtCase.objects.select_for_update(of=("self",))
            .select_related("meeting__centre", "patient__centre").get(pk=case.pk))


def case_refresh_summary(*, actor, case: MdtCase) -> MdtCase:
    """Take the summary from the record again: only while the case is listed."""
    _check_team(actor, case.meeting, "refresh the summary")
    with transaction.atomic():
        locked = _locked_case(case)
        if locked.state != CaseState.LISTED:
            raise TransitionConflict(
                f"The case is {locked.get_state_display().lower()}: its summary is kept as "
                "it was.")
        before = audit.snapshot(locked, ["summary", "summary_at"])
        locked.summary = case_summary(locked.patient, centre_today(locked.meeting.centre))
        locked.summary_at = timezone.now()
        locked.save(update_fields=["summary", "summary_at"])
        _event(meeting=locked.meeting, case=locked, actor=actor, name="refresh_summary",
               source=locked.state, target=locked.state, reason="Summary taken from the record.")
        audit.record_update(actor=actor, obj=locked, before=before, note="summary refreshed")
    return locked


def case_transition(*, actor, case: MdtCase, name: str, reason: str = "",
                    before_apply=None, after_apply=None) -> MdtCase:
    """Defer or withdraw a listed case (with the reason), or sign it (see :func:`case_sign`)."""
    step = CASE_STEPS[name]
    reason = (reason or "").strip()

    def record(obj: MdtCase, source: str, target: str) -> None:
        _event(meeting=obj.meeting, case=obj, actor=actor, name=name, source=source,
               target=target, reason=reason)

    def apply(obj: MdtCase) -> None:
        if name in ("defer", "withdraw"):
            obj.reason = reason
        if after_apply is not None:
            after_apply(obj)

    return run_transition(queryset=MdtCase.objects.select_related("meeting__centre", "patient"),
                          pk=case.pk, step=step, actor=actor, reason=reason,
                          record_event=record, before_apply=before_apply, after_apply=apply)


@dataclass(frozen=True)
class ActionInput:
    """One follow-up action as asked: what, owned by whom (`owner_party`: centre, practice or
    user, then `owner_user`), by when."""

    text: str
    owner_party: str
    due: dt.date
    owner_user: User | None = None


def _check_actions(actions: Sequence[ActionInput], patient: Patient,
                   today: dt.date) -> list[ActionInput]:
    if len(actions) > MAX_ACTIONS:
        raise TransitionInvalid(f"At most {MAX_ACTIONS} actions.", field="actions")
    checked = []
    for index, action in enumerate(actions):
        where = f"actions.{index}"
        text = (action.text or "").strip()
        if not text:
            raise TransitionInvalid("Say what is to be done.", field=f"{where}.text")
        if len(text) > TEXT_LIMITS["text"]:
            raise TransitionInvalid(f"Keep an action under {TEXT_LIMITS['text']} characters.",
                                    field=f"{where}.text")
        if action.owner_party not in OwnerParty.values:
            raise TransitionInvalid("Choose the centre, the practice or a named user.",
                                    field=f"{where}.owner_party")
        user = action.owner_user if action.owner_party == OwnerParty.USER else None
        if action.owner_party == OwnerParty.USER and (
                user is None or not user.is_active or not can_view_patient(user, patient)):
            raise TransitionInvalid("Name a user who may see the patient.",
                                    field=f"{where}.owner_user")
        if not isinstance(action.due, dt.date) or isinstance(action.due, dt.datetime):
            raise TransitionInvalid("Give the due day.", field=f"{where}.due")
        if action.due < today:
            raise TransitionInvalid("The due day is in the past.", field=f"{where}.due")
        error = plan_date_error(action.due, today=today, what="The due day")
        if error:
            raise TransitionInvalid(error, field=f"{where}.due")
        checked.append(ActionInput(text, action.owner_party, action.due, user))
    return checked


def case_sign(*, actor, case: MdtCase, recommendation: str, rationale: str,
              attendees: Iterable[MdtMember], actions: Sequence[ActionInput] = ()) -> MdtCase:
    """Record and sign the outcome of a listed case of a held meeting, as its chair or a NET
    specialist: the recommendation, its rationale, who took part (members of the meeting, now
    marked attended) and the follow-up actions. From then on the case is read-only. Each
    action becomes a care task on the patient's current course at the centre (or stays an MDT
    action without one); the referring oncologist is notified."""
    step = CASE_STEPS["sign"]
    check_transition(case, step, actor)
    if recommendation not in Recommendation.values:
        raise TransitionInvalid("Choose the recommendation.", field="recommendation")
    rationale = _text(rationale, "rationale")
    attendees = list(attendees)
    if not attendees:
        raise TransitionInvalid("Tick who took part in the discussion.", field="attendees")
    if any(member.meeting_id != case.meeting_id for member in attendees):
        raise TransitionInvalid("Only the meeting's members take part.", field="attendees")
    today = centre_today(case.meeting.centre)
    checked = _check_actions(actions, case.patient, today)

    def guard(obj: MdtCase) -> None:
        if obj.meeting.state != MeetingState.HELD:
            raise TransitionConflict(
                f"The meeting is {obj.meeting.get_state_display().lower()}: mark it held to "
                "sign its outcomes.", field="meeting")

    def apply(obj: MdtCase) -> None:
        obj.recommendation, obj.rationale = recommendation, rationale
        obj.signed_by, obj.signed_at = actor, timezone.now()

    with transaction.atomic():
        signed = case_transition(actor=actor, case=case, name="sign", before_apply=guard,
                                 after_apply=apply,
                                 reason=f"{Recommendation(recommendation).label}: {rationale}")
        signed.attendees.set(attendees)
        MdtMember.objects.filter(pk__in=[m.pk for m in attendees]).update(attended=True)
        course = current_course(signed.patient, signed.meeting.centre_id)
        held_on = local_date(signed.meeting.starts_at, signed.meeting.centre)
        for action in checked:
            task = None
            if course is not None:
                task = task_create_by_person(
                    actor=actor, course=course, kind=TaskKind.MDT_ACTION, due=action.due,
                    earliest=min(today, action.due), owner_party=action.owner_party,
                    owner_user=action.owner_user,
                    note=f"{action.text} (MDT of {held_on:%d %b %Y})")
            created = MdtAction.objects.create(
                case=signed, text=action.text, owner_party=action.owner_party,
                owner_user=action.owner_user, due=action.due, care_task=task)
            audit.record_create(actor=actor, obj=created)
        _send_outcome(signed)
    return signed


def _send_outcome(case: MdtCase) -> None:
    """Tell the patient's oncologists (in NETcare and by email) that the outcome is signed."""
    patient = case.patient
    recipients = [patient.referring_oncologist, patient.primary_oncologist]
    if case.referral_id is not None:
        recipients.append(case.referral.referring_oncologist)
    meeting = case.meeting
    held_on = local_date(meeting.starts_at, meeting.centre)
    short = str(case.external_id)[:8]
    notify(recipients=[user for user in recipients
                       if user is not None and can_view_patient(user, patient)],
           subject=f"MDT outcome {short}: signed",
           body=f"The {meeting.centre.name} MDT of {held_on:%d %B %Y} discussed your patient "
                f"(case {short}) and signed its recommendation. Read it, with its rationale and "
                "the follow-up actions, in NETcare.",
           url=reverse("network:mdt-case", args=[case.external_id]))
    MdtCase.objects.filter(pk=case.pk).update(outcome_sent_at=timezone.now())


# --- actions without a course --------------------------------------------------------------


def action_set_done(*, actor, action: MdtAction, done: bool) -> MdtAction:
    """Mark an MDT action done (or not done again). Only an action that did not become a care
    task: a care task is done through its own verbs."""
    with transaction.atomic():
        locked = (MdtAction.objects.select_for_update(of=("self",))
                  .select_related("case__patient__centre", "case__meeting").get(pk=action.pk))
        patient = locked.case.patient
        if actor is None or not can_change_patient(actor, patient):
            raise TransitionForbidden("You cannot change this action.")
        if locked.care_task_id is not None:
            raise TransitionConflict("This action is a care task: mark the task done instead.")
        if (locked.done_at is not None) == bool(done):
            raise TransitionConflict(
                f"The action is {'done' if done else 'not done'} already.")
        before = audit.snapshot(locked, ["done_at", "done_by_id"])
        locked.done_at, locked.done_by = (timezone.now(), actor) if done else (None, None)
        locked.save(update_fields=["done_at", "done_by"])
        state = locked.case.state
        _event(meeting=locked.case.meeting, case=locked.case, actor=actor,
               name="action_done" if done else "action_undone", source=state, target=state,
               reason=locked.text[:255])
        audit.record_update(actor=actor, obj=locked, before=before)
    return locked
