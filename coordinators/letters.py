"""The course letter: how a patient is referred back to the referring oncologist after PRRT.

NETcare drafts the letter from the record (:func:`letter_draft_text`); the treating centre's
navigator or NET specialist prepares the draft, edits it and sends it. Sending is a person's act
and refers the patient back: in one transaction the letter is marked sent, the referral moves to
referred back with the sender as its actor, the course's follow-up tasks pass to the referring
practice, the navigator's referral follow-up task is closed by the letter, the oncologists are
told, every change is audited with the patient, and ``LetterSent`` is published for its handlers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

import rules
from coordinators.models import CareTask, OwnerParty, ReferralLetter, TaskKind, TaskState
from coordinators.reminders import reminders_sync
from coordinators.services import task_fulfil, task_reassign
from netcare import audit, events
from netcare.clock import centre_today, local_date
from netcare.models import Role
from netcare.notifications import centre_navigators, notify
from netcare.numbers import plain
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from patients.models import AdverseEvent
from prrt import clinical
from prrt.models import CourseState, CycleDecision, CycleState, TreatmentCourse
from referrals.models import Referral, ReferralState
from referrals.services import referral_transition

# The obligations after the course that pass to the referring practice with the letter.
FOLLOW_UP_KINDS = (TaskKind.POST_COURSE_LABS, TaskKind.LAR_MAINTENANCE, TaskKind.IMAGING,
                   TaskKind.SSTR_PET)
ENDED_STATES = (CourseState.COMPLETED, CourseState.DISCONTINUED)
NOT_STARTED_STATES = (CourseState.ELIGIBILITY_REVIEW, CourseState.NOT_APPROVED)
GIVEN_CYCLE_STATES = (CycleState.ADMINISTERED, CycleState.COMPLETED)
REASSIGN_REASON = "Referred back with the course letter"
MAX_BODY_CHARS = 50_000

_FOLLOW_UP_WHAT = {
    TaskKind.POST_COURSE_LABS: "Post-course labs: full blood count with differential, "
                               "creatinine and creatinine clearance, liver function; please "
                               "send the results to us",
    TaskKind.LAR_MAINTENANCE: "Octreotide LAR 30 mg IM",
    TaskKind.IMAGING: "CT or MRI for tumour assessment",
    TaskKind.SSTR_PET: "Post-treatment SSTR PET ([68Ga]Ga-DOTA-TATE), not sooner than "
                       "3 months after the last dose",
}


# --- who may -----------------------------------------------------------------------------------


def is_centre_team(user, course: TreatmentCourse) -> bool:
    """A navigator or NET specialist of the centre that treats the course."""
    return (user is not None and getattr(user, "is_authenticated", False) and user.is_active
            and user.role in (Role.NAVIGATOR, Role.SPECIALIST)
            and user.centre_id == course.centre_id)


def _check_team(actor, course: TreatmentCourse, what: str) -> None:
    if not is_centre_team(actor, course):
        raise TransitionForbidden(
            f"Only the treating centre's navigators and NET specialists can {what}.")


def letter_of(course: TreatmentCourse) -> ReferralLetter | None:
    return (ReferralLetter.objects.select_related("sent_by")
            .filter(course_id=course.pk).first())


# --- the draft, from the record ----------------------------------------------------------------


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _doctor(user) -> str:
    return f"Dr {_person(user)}" if user is not None else "Doctor"


def _words(action: str) -> str:
    return (action or "").replace("_", " ").lower()


def _outcome(course: TreatmentCourse, doses: list[rules.Dose], config) -> str:
    given = f"{len(doses)} of {config.max_cycles} cycles given"
    last = f", the last on {_day(doses[-1].date)}" if doses else ""
    if course.state == CourseState.DISCONTINUED:
        ended = f" on {_day(local_date(course.ended_at, course.centre))}" if course.ended_at \
            else ""
        reason = (course.ended_reason or "no reason recorded").strip().rstrip(".")
        return f"Discontinued{ended}: {reason}. {given}{last}."
    if course.state == CourseState.COMPLETED or len(doses) >= config.max_cycles:
        return f"Completed: {given}{last}."
    return f"In progress: {given} so far{last}."


def _decision_lines(course: TreatmentCourse, config) -> list[str]:
    lines = []
    decisions = (CycleDecision.objects.filter(cycle__course=course).select_related("cycle")
                 .order_by("decided_at", "id"))
    for decision in decisions:
        number = decision.cycle.number
        on = _day(local_date(decision.decided_at, course.centre))
        reasons = "; ".join((decision.recommendation or {}).get("reasons") or [])
        why = (decision.reason or reasons or "as the rules recommended").strip().rstrip(".")
        recommended = f" (recommendation: {_words(decision.recommended_action)})"
        categories = ", ".join(decision.categories) or "not named"
        if decision.decision == CycleDecision.Decision.WITHHOLD:
            lines.append(f"- Cycle {number} withheld on {on}, categories: {categories}. "
                         f"Reason: {why}{recommended}.")
        elif decision.decision == CycleDecision.Decision.DISCONTINUE:
            lines.append(f"- Course discontinued at cycle {number} on {on}. "
                         f"Reason: {why}{recommended}.")
        elif decision.activity_gbq is not None \
                and decision.activity_gbq < config.full_activity_gbq:
            lines.append(f"- Cycle {number} approved at the reduced activity of "
                         f"{plain(decision.activity_gbq)} GBq on {on}. "
                         f"Reason: {why}{recommended}.")
    return lines


def _adverse_event_lines(course: TreatmentCourse, since: dt.date) -> list[str]:
    lines = []
    for event in AdverseEvent.objects.filter(patient_id=course.patient_id,
                                             onset_on__gte=since).order_by("onset_on", "id"):
        related = ("related to treatment" if event.related_to_treatment
                   else "not considered related to treatment")
        lines.append(f"- {event.term}: CTCAE grade {event.ctcae_grade}, onset "
                     f"{_day(event.onset_on)}, {related}.")
    return lines


def _follow_up_lines(course: TreatmentCourse, today: dt.date, owner: str) -> list[str]:
    tasks = (CareTask.objects.filter(course=course, state=TaskState.OPEN,
                                     kind__in=FOLLOW_UP_KINDS).order_by("due", "kind", "sequence"))
    lines = []
    for task in tasks:
        late = " (overdue)" if task.due < today else ""
        lines.append(f"- {_day(task.due)}{late}: {_FOLLOW_UP_WHAT[task.kind]} ({owner}).")
    return lines


def _contact_lines(course: TreatmentCourse) -> list[str]:
    centre = course.centre
    lines = [centre.name]
    if centre.address:
        lines.append(" ".join(centre.address.split()))
    if centre.phone:
        lines.append(f"Telephone: {centre.phone}")
    if centre.email:
        lines.append(f"Email: {centre.email}")
    for navigator in centre_navigators(course.centre_id):
        contact = ", ".join(part for part in (navigator.email, navigator.phone) if part)
        lines.append(f"Nurse navigator: {_person(navigator)}"
                     + (f" ({contact})" if contact else ""))
    return lines


def letter_draft_text(course: TreatmentCourse, *, today: dt.date) -> str:
    """The course letter to the referring oncologist, drafted from the record (plain text):
    the patient, the outcome, every dose, withholds and reductions, adverse events since the
    first dose, the follow-up plan from the course's open tasks, the long-term watch and the
    centre's NET contact."""
    config = clinical.rules_config(course.centre)
    patient = course.patient
    referral = Referral.objects.select_related("referring_oncologist__centre").get(
        pk=course.referral_id)
    oncologist = referral.referring_oncologist
    practice = getattr(oncologist, "centre", None)
    practice_name = f"your practice ({practice.name})" if practice is not None \
        else "your practice"
    history = clinical.course_history(course)
    doses = list(history.doses)
    since = doses[0].date if doses else course.planned_first_dose

    out = [course.centre.name, _day(today), "",
           f"To: {_doctor(oncologist)}" + (f", {practice.name}" if practice else "")]
    primary = patient.primary_oncologist
    if primary is not None and primary.pk != oncologist.pk:
        out.append(f"Copy to: {_doctor(primary)}")
    out += ["", f"Re: {patient.full_name}, born {_day(patient.date_of_birth)}, "
                f"MRN {patient.mrn}",
            "PRRT with [177Lu]Lu-DOTA-TATE: course letter and referral back", "",
            f"Dear {_doctor(oncologist)},", "",
            f"{patient.full_name} was treated with peptide receptor radionuclide therapy "
            f"([177Lu]Lu-DOTA-TATE) at {course.centre.name}. With this letter we refer the "
            "patient back to your care; the course and the follow-up plan are below.", "",
            "Course outcome", _outcome(course, doses, config), "",
            "Doses given"]
    for dose in doses:
        reduced = (" (reduced activity)"
                   if Decimal(str(dose.activity_gbq)) < config.full_activity_gbq else "")
        out.append(f"- Cycle {dose.cycle}: {plain(dose.activity_gbq)} GBq on "
                   f"{_day(dose.date)}{reduced}")
    if not doses:
        out.append("- No dose was given.")
    out += [f"Cumulative activity: {plain(history.cumulative_activity_gbq)} GBq", "",
            "Withholds and dose reductions"]
    out += _decision_lines(course, config) or ["- None."]
    out += ["", f"Adverse events since the first dose ({_day(since)})"]
    out += _adverse_event_lines(course, since) or ["- None reported."]
    end = rules.add_months(since, config.lar_maintenance_months)
    out += ["", "Follow-up plan",
            f"From this letter on, each step below is done by {practice_name}, on or about "
            "the date given."]
    out += (_follow_up_lines(course, today, "your practice")
            or ["- No follow-up is planned in NETcare."])
    out += [f"Octreotide LAR 30 mg is given every 4 weeks until progression or up to "
            f"{config.lar_maintenance_months} months from the first dose ({_day(end)}). CT or "
            f"MRI continues every {config.imaging_interval_months} months. Scans during or "
            "soon after PRRT may show pseudoprogression: the first scan after the course "
            "alone never defines progression.", "",
            "Long-term watch",
            "- Blood counts: a full blood count at each follow-up. Treatment-related "
            "myelodysplastic syndrome and acute leukaemia are rare (1.5 to 1.8 % of patients) "
            "and can appear years later; profound or persisting cytopenias, or limited "
            "recovery, need closer long-term monitoring and a haematology opinion.",
            "- Renal function: creatinine and creatinine clearance at follow-up; please tell "
            "us of a falling clearance.", "",
            "NET contact",
            "For questions, or if the disease progresses, contact our NET team:"]
    out += _contact_lines(course)
    out += ["", "Yours sincerely,", "", f"The NET team, {course.centre.name}"]
    return "\n".join(out) + "\n"


def referral_summary(course: TreatmentCourse) -> str:
    """The short summary kept on the referral when the letter refers the patient back."""
    config = clinical.rules_config(course.centre)
    history = clinical.course_history(course)
    lines = [f"PRRT course: {_outcome(course, history.doses, config)}"]
    lines += [f"Cycle {d.cycle}: {plain(d.activity_gbq)} GBq on {_day(d.date)}."
              for d in history.doses]
    lines.append(f"Cumulative activity {plain(history.cumulative_activity_gbq)} GBq.")
    lines.append("The course letter holds the follow-up plan.")
    return "\n".join(lines)


# --- when it may be sent -----------------------------------------------------------------------


def letter_send_blocker(course: TreatmentCourse, *, today: dt.date) -> str:
    """Why the letter cannot be sent yet, or "" once the course has ended or every cycle was
    given and the precaution window after the last dose has passed."""
    if course.state in ENDED_STATES:
        return ""
    if course.state != CourseState.ACTIVE:
        return "The course has not started: the letter is sent after it."
    states = list(course.cycles.values_list("state", flat=True))
    if not states or any(state not in GIVEN_CYCLE_STATES for state in states):
        return "Cycles remain to be given: the letter is sent once the course has ended."
    config = clinical.rules_config(course.centre)
    windows = clinical.precaution_windows(course, config)
    if not windows:
        return "No dose is recorded: the letter is sent once the course has ended."
    last_day = max(end for _start, end in windows)
    if today <= last_day:
        return (f"The precaution window after the last dose runs to {_day(last_day)}: the "
                f"letter can be sent from {_day(last_day + dt.timedelta(days=1))}.")
    return ""


# --- what people do ----------------------------------------------------------------------------


def _locked_course(course: TreatmentCourse) -> TreatmentCourse:
    """The course row locked: prepare, edit and send of one letter are serialised on it."""
    return (TreatmentCourse.objects.select_for_update(of=("self",))
            .select_related("centre", "patient").get(pk=course.pk))


def _locked_letter(course: TreatmentCourse) -> ReferralLetter | None:
    return ReferralLetter.objects.select_for_update().filter(course_id=course.pk).first()


def _clean_body(body) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise TransitionInvalid("The letter cannot be empty.", field="body")
    if len(text) > MAX_BODY_CHARS:
        raise TransitionInvalid(f"The letter is longer than {MAX_BODY_CHARS} characters.",
                                field="body")
    return text + "\n"


def _check_draft(letter: ReferralLetter | None, course: TreatmentCourse) -> ReferralLetter:
    if letter is None:
        raise TransitionConflict("There is no draft yet: prepare the letter first.")
    if letter.state == ReferralLetter.State.SENT:
        sent_on = _day(local_date(letter.sent_at, course.centre))
        raise TransitionConflict(f"The letter was sent on {sent_on} by "
                                 f"{_person(letter.sent_by)}: it can no longer change.")
    return letter


def _set_body(actor, letter: ReferralLetter, text: str, *, note: str) -> None:
    """Store a draft's new text, audited with what changed (nothing when it is the same)."""
    if text == letter.body:
        return
    before = audit.snapshot(letter, ["body"])
    letter.body = text
    letter.save(update_fields=["body", "updated_at"])
    audit.record_update(actor=actor, obj=letter, before=before, note=note)


def letter_prepare(*, actor, course: TreatmentCourse, redraft: bool = False) -> ReferralLetter:
    """The course's letter, drafted from the record when it has none yet (preparing twice
    returns the same draft). `redraft` replaces a draft's text with a fresh one."""
    _check_team(actor, course, "prepare the course letter")
    if course.state in NOT_STARTED_STATES:
        raise TransitionConflict("The course has not started: there is nothing to write yet.")
    with transaction.atomic():
        locked = _locked_course(course)
        letter = _locked_letter(locked)
        today = centre_today(locked.centre)
        if letter is None:
            letter = ReferralLetter.objects.create(
                course=locked, patient=locked.patient,
                body=letter_draft_text(locked, today=today))
            audit.record_create(actor=actor, obj=letter)
        elif redraft:
            _check_draft(letter, locked)
            _set_body(actor, letter, letter_draft_text(locked, today=today),
                      note="Redrafted from the record")
    return letter


def letter_save(*, actor, course: TreatmentCourse, body: str) -> ReferralLetter:
    """Store an edited draft (not once it was sent)."""
    _check_team(actor, course, "edit the course letter")
    with transaction.atomic():
        locked = _locked_course(course)
        letter = _check_draft(_locked_letter(locked), locked)
        _set_body(actor, letter, _clean_body(body), note="Draft edited")
    return letter


def letter_send_check(*, actor, course: TreatmentCourse) -> None:
    """The role and state checks of sending (403, then 409), before any input is read; the
    send repeats them under the lock."""
    _check_team(actor, course, "send the course letter")
    _check_draft(letter_of(course), course)


def letter_send(*, actor, course: TreatmentCourse, body: str | None = None) -> ReferralLetter:
    """Send the letter (with `body` as its final text, when given) and refer the patient back;
    see the module's description for everything that happens in the one transaction."""
    letter_send_check(actor=actor, course=course)
    with transaction.atomic():
        locked = _locked_course(course)
        letter = _check_draft(_locked_letter(locked), locked)
        today = centre_today(locked.centre)
        blocker = letter_send_blocker(locked, today=today)
        if blocker:
            raise TransitionInvalid(blocker, field="course")
        if body is not None:
            _set_body(actor, letter, _clean_body(body), note="Edited before sending")
        now = timezone.now()
        letter.state, letter.sent_at, letter.sent_by = ReferralLetter.State.SENT, now, actor
        letter.save(update_fields=["state", "sent_at", "sent_by", "updated_at"])
        audit.record_transition(actor=actor, obj=letter, source=ReferralLetter.State.DRAFT,
                                target=ReferralLetter.State.SENT,
                                note="Course letter sent to the referring oncologist")

        referral = Referral.objects.select_related("referring_oncologist").get(
            pk=locked.referral_id)
        if referral.state == ReferralState.IN_TREATMENT:
            referral_transition(referral=referral, name="refer_back", actor=actor,
                                reason=referral_summary(locked))

        for task in (CareTask.objects.filter(course=locked, state=TaskState.OPEN,
                                             kind__in=FOLLOW_UP_KINDS)
                     .exclude(owner_party=OwnerParty.PRACTICE).order_by("due", "id")):
            task_reassign(actor=actor, task=task, owner_party=OwnerParty.PRACTICE,
                          reason=REASSIGN_REASON)
        link = f"coordinators.ReferralLetter:{letter.external_id}"
        for task in CareTask.objects.filter(course=locked, state=TaskState.OPEN,
                                            kind=TaskKind.REFERRAL_FOLLOW_UP):
            task_fulfil(task=task, done_at=now, value="Course letter sent.",
                        reason="The course letter was sent.", record=link)
        reminders_sync(locked, today=today)

        patient = locked.patient
        short = str(locked.external_id)[:8]
        notify(recipients=[referral.referring_oncologist, patient.referring_oncologist,
                           patient.primary_oncologist],
               subject=f"Course letter {short}: patient referred back",
               body=f"The NET centre sent the course letter of PRRT course {short}: the patient "
                    "is referred back to you with the follow-up plan. Read it in NETcare.",
               url=reverse("letters:letter", args=[locked.external_id]))
        events.publish(events.LetterSent(course_id=locked.pk, letter_id=letter.pk))
    return letter


# --- the printable letter ----------------------------------------------------------------------


def letter_html(letter: ReferralLetter) -> str:
    course = letter.course
    return render_to_string("coordinators/letter_pdf.html", {
        "letter": letter, "course": course, "patient": letter.patient, "centre": course.centre,
        "is_draft": letter.state == ReferralLetter.State.DRAFT})


def letter_pdf(letter: ReferralLetter) -> bytes:
    from weasyprint import HTML

    return HTML(string=letter_html(letter)).write_pdf()
