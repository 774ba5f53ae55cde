"""MDT pages: the meetings list, a meeting (members, case list, adding a case), a case (summary,
outcome) and the printable agenda and outcome. Thin views: they parse, call network.mdt and show
the result. Everything is scoped by network.mdt_selectors (netcare.access underneath): outside
it is a 404. A page that shows cases names their patients in the audit trail; a case page is an
audited view; a PDF is an audited export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from netcare import audit
from netcare.access import role_required, visible_patients
from netcare.clock import centre_today
from netcare.models import Role
from netcare.notifications import centre_team
from netcare.workflow import TransitionError
from network import mdt
from network import mdt_selectors as selectors
from network.mdt_forms import (
    CaseForm,
    MeetingForm,
    MemberForm,
    OutcomeForm,
    PatientSearchForm,
    ReasonForm,
    default_starts_at,
)
from network.models import CaseState, Discipline, MdtAction, MdtMember, MeetingState


def _error_on(form, exc: TransitionError) -> bool:
    """Show a service's refusal beside its field when the form has that field."""
    if form is not None and exc.field and exc.field in form.fields:
        form.add_error(exc.field, exc.message)
        return True
    return False


# --- the meetings ------------------------------------------------------------------------------


@login_required
@require_GET
def meetings(request: HttpRequest) -> HttpResponse:
    """Upcoming (and in progress) and past meetings the user may open. No patient is named."""
    shown = list(selectors.meetings_visible(request.user).select_related("centre", "chair")
                 .order_by("starts_at", "id"))
    counts = dict(selectors.cases_visible(request.user).filter(meeting__in=shown)
                  .order_by().values("meeting_id").annotate(n=Count("id"))
                  .values_list("meeting_id", "n"))
    for meeting in shown:
        meeting.case_count = counts.get(meeting.pk, 0)
    ahead, past = selectors.upcoming(shown)
    return render(request, "network/mdt_meetings.html", {
        "upcoming": ahead, "past": list(reversed(past)),
        "is_team": request.user.role in (Role.NAVIGATOR, Role.SPECIALIST)})


def _team(request: HttpRequest) -> list:
    return centre_team(request.user.centre_id) if request.user.centre_id else []


@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def meeting_new(request: HttpRequest) -> HttpResponse:
    centre = request.user.centre
    zone = centre.time_zone if centre else "UTC"
    form = MeetingForm(request.POST or None, team=_team(request), time_zone=zone,
                       initial={"starts_at": default_starts_at(), "chair": str(
                           request.user.external_id)})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                meeting = mdt.meeting_schedule(
                    actor=request.user, starts_at=data["starts_at"], chair=data["chair"],
                    duration_minutes=data["duration_minutes"], place=data["place"],
                    video_link=data["video_link"], title=data["title"])
            except TransitionError as exc:
                if not _error_on(form, exc):
                    messages.error(request, exc.message)
                status = exc.status
            else:
                messages.success(request, "The meeting was scheduled.")
                return redirect("network:mdt-meeting", meeting_id=meeting.external_id)
        else:
            status = 400
    return render(request, "network/mdt_meeting_new.html", {"form": form}, status=status)


def _members_shown(meeting, user, is_team: bool) -> list[MdtMember]:
    """Everyone for the centre's team; for an invited oncologist the centre's side and
    themselves (other practices' oncologists would name other patients' doctors)."""
    members = list(meeting.members.select_related("user").order_by("discipline", "id"))
    if is_team:
        return members
    return [m for m in members
            if m.discipline != Discipline.MEDICAL_ONCOLOGY or m.user_id == user.pk]


def _render_meeting(request: HttpRequest, meeting, *, member_form=None, search_form=None,
                    case_form=None, found=None, reason_form=None, error=None,
                    status: int = 200) -> HttpResponse:
    user = request.user
    is_team = selectors.is_centre_team(user, meeting.centre_id)
    cases = selectors.cases_shown(user, meeting)
    audit.record_list(request=request, what="network:mdt-meeting",
                      patient_ids=audit.patients_named(cases))
    is_open = meeting.state in selectors.OPEN_MEETING_STATES
    if is_team and is_open:
        team = centre_team(meeting.centre_id)
        member_form = member_form or MemberForm(team=team, prefix="member")
        search_form = search_form or PatientSearchForm(prefix="search")
    if found is not None:
        audit.record_list(request=request, what="network:mdt-case-search",
                          patient_ids=[p.external_id for p in found])
    context = {
        "meeting": meeting, "cases": cases, "is_team": is_team, "is_open": is_open,
        "members": _members_shown(meeting, user, is_team),
        "is_member": meeting.members.filter(user=user).exists(),
        "member_form": member_form, "search_form": search_form, "case_form": case_form,
        "found": found, "reason_form": reason_form or ReasonForm(prefix="meeting"),
        "error": error, "listed": sum(1 for case in cases if case.state == CaseState.LISTED),
    }
    return render(request, "network/mdt_meeting.html", context, status=status)


@login_required
@require_GET
def meeting_page(request: HttpRequest, meeting_id) -> HttpResponse:
    return _render_meeting(request, selectors.meeting_for(request.user, meeting_id))


def _team_meeting(request: HttpRequest, meeting_id):
    meeting = selectors.meeting_for(request.user, meeting_id)
    if not selectors.is_centre_team(request.user, meeting.centre_id):
        raise Http404("Not found.")  # an invited oncologist changes nothing here
    return meeting


@login_required
@require_POST
def meeting_step(request: HttpRequest, meeting_id, step: str) -> HttpResponse:
    meeting = _team_meeting(request, meeting_id)
    if step not in mdt.MEETING_STEPS:
        raise Http404("Not found.")
    form = ReasonForm(request.POST, prefix="meeting")
    reason = request.POST.get("meeting-reason", "")
    try:
        mdt.meeting_transition(actor=request.user, meeting=meeting, name=step, reason=reason)
    except TransitionError as exc:
        form.is_valid()
        if exc.field == "reason":
            form.add_error("reason", exc.message)
        return _render_meeting(request, meeting, reason_form=form, error=exc,
                               status=exc.status)
    done = {"hold": "The meeting is marked held: its outcomes can be signed.",
            "close": "The meeting is closed.",
            "cancel": "The meeting was cancelled; its listed cases were deferred."}
    messages.success(request, done[step])
    return redirect("network:mdt-meeting", meeting_id=meeting.external_id)


@login_required
@require_POST
def member_add(request: HttpRequest, meeting_id) -> HttpResponse:
    meeting = _team_meeting(request, meeting_id)
    form = MemberForm(request.POST, team=centre_team(meeting.centre_id), prefix="member")
    if not form.is_valid():
        return _render_meeting(request, meeting, member_form=form, status=400)
    data = form.cleaned_data
    try:
        member = mdt.member_add(actor=request.user, meeting=meeting, user=data["user"],
                                external_name=data["external_name"],
                                discipline=data["discipline"], virtual=data["virtual"])
    except TransitionError as exc:
        error = None if _error_on(form, exc) else exc
        return _render_meeting(request, meeting, member_form=form, error=error,
                               status=exc.status)
    messages.success(request, f"{member.name} was added.")
    return redirect("network:mdt-meeting", meeting_id=meeting.external_id)


def _team_member(request: HttpRequest, member_id) -> MdtMember:
    try:
        member = MdtMember.objects.select_related("meeting__centre", "user").get(
            external_id=member_id)
    except (MdtMember.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc
    _team_meeting(request, member.meeting.external_id)
    return member


@login_required
@require_POST
def member_remove(request: HttpRequest, member_id) -> HttpResponse:
    member = _team_member(request, member_id)
    try:
        mdt.member_remove(actor=request.user, member=member)
    except TransitionError as exc:
        return _render_meeting(request, member.meeting, error=exc, status=exc.status)
    messages.success(request, f"{member.name} was taken off the meeting.")
    return redirect("network:mdt-meeting", meeting_id=member.meeting.external_id)


@login_required
@require_POST
def member_attended(request: HttpRequest, member_id) -> HttpResponse:
    member = _team_member(request, member_id)
    attended = request.POST.get("attended") == "1"
    try:
        mdt.member_set_attended(actor=request.user, member=member, attended=attended)
    except TransitionError as exc:
        return _render_meeting(request, member.meeting, error=exc, status=exc.status)
    messages.success(request, f"{member.name}: {'attended' if attended else 'did not attend'}.")
    return redirect("network:mdt-meeting", meeting_id=member.meeting.external_id)


# --- listing a case: find the patient by POST (no name in a URL), then the question ----------


@login_required
@require_POST
def case_search(request: HttpRequest, meeting_id) -> HttpResponse:
    meeting = _team_meeting(request, meeting_id)
    form = PatientSearchForm(request.POST, prefix="search")
    if not form.is_valid():
        return _render_meeting(request, meeting, search_form=form, status=400)
    try:
        found = selectors.patients_to_list(request.user, meeting, form.cleaned_data["query"])
    except TransitionError as exc:
        form.add_error("query", exc.message)
        return _render_meeting(request, meeting, search_form=form, status=exc.status)
    case_form = CaseForm(patients=found, prefix="case") if found else None
    return _render_meeting(request, meeting, search_form=form, case_form=case_form,
                           found=found)


@login_required
@require_POST
def case_add(request: HttpRequest, meeting_id) -> HttpResponse:
    meeting = _team_meeting(request, meeting_id)
    chosen = request.POST.get("case-patient", "")
    try:
        patients = list(visible_patients(request.user).filter(centre_id=meeting.centre_id,
                                                              external_id=chosen))
    except (ValidationError, ValueError):
        patients = []
    form = CaseForm(request.POST, patients=patients, prefix="case")
    if not form.is_valid():
        return _render_meeting(request, meeting, case_form=form, found=patients, status=400)
    patient = form.cleaned_data["patient"]
    try:
        case = mdt.case_list(actor=request.user, meeting=meeting, patient=patient,
                             question=form.cleaned_data["question"],
                             referral=selectors.case_referral(patient, meeting.centre_id))
    except TransitionError as exc:
        error = None if _error_on(form, exc) else exc
        return _render_meeting(request, meeting, case_form=form, found=patients, error=error,
                               status=exc.status)
    messages.success(request, f"{patient.full_name} was listed; the summary was taken from "
                              "the record.")
    return redirect(f"{_meeting_url(meeting)}#case-{case.external_id}")


def _meeting_url(meeting) -> str:
    return reverse("network:mdt-meeting", args=[meeting.external_id])


# --- a case -------------------------------------------------------------------------------------


def _owners(case) -> list:
    """Who may own an action: the centre's team and the patient's oncologists."""
    patient = case.patient
    people = centre_team(case.meeting.centre_id)
    for oncologist in (patient.referring_oncologist, patient.primary_oncologist):
        if oncologist is not None and oncologist.is_active and oncologist not in people:
            people.append(oncologist)
    return people


def _outcome_form(case, data=None) -> OutcomeForm:
    members = list(case.meeting.members.select_related("user").order_by("discipline", "id"))
    return OutcomeForm(data, members=members, owners=_owners(case), prefix="outcome")


def _render_case(request: HttpRequest, case, *, outcome_form=None, reason_form=None,
                 error=None, status: int = 200) -> HttpResponse:
    user = request.user
    meeting = case.meeting
    is_team = selectors.is_centre_team(user, meeting.centre_id)
    audit.record_view(actor=user, obj=case, ip_address=audit.client_ip(request))
    listed = case.state == CaseState.LISTED
    can_sign = listed and selectors.is_centre_team(user, meeting.centre_id) and (
        user.role == Role.SPECIALIST or user.pk == meeting.chair_id)
    if can_sign and meeting.state == MeetingState.HELD and outcome_form is None:
        outcome_form = _outcome_form(case)
    actions = list(case.actions.select_related("care_task", "owner_user", "done_by"))
    invited = set(meeting.members.filter(user__isnull=False).values_list("user_id", flat=True))
    oncologist = case.patient.primary_oncologist or case.patient.referring_oncologist
    context = {
        "case": case, "meeting": meeting, "patient": case.patient, "summary": case.summary,
        "is_team": is_team, "listed": listed, "can_sign": can_sign,
        "outcome_form": outcome_form, "reason_form": reason_form or ReasonForm(prefix="case"),
        "actions": actions, "attendees": list(case.attendees.select_related("user")),
        "may_toggle": [a for a in actions if a.care_task_id is None],
        "oncologist": oncologist,
        "may_invite": is_team and listed and meeting.state in selectors.OPEN_MEETING_STATES
        and oncologist is not None and oncologist.pk not in invited,
        "error": error, "today": centre_today(meeting.centre),
    }
    return render(request, "network/mdt_case.html", context, status=status)


@login_required
@require_GET
def case_page(request: HttpRequest, case_id) -> HttpResponse:
    return _render_case(request, selectors.case_for(request.user, case_id))


def _act_on_case(request: HttpRequest, case_id, action, done: str) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    try:
        action(case)
    except TransitionError as exc:
        return _render_case(request, case, error=exc, status=exc.status)
    messages.success(request, done)
    return redirect("network:mdt-case", case_id=case.external_id)


@login_required
@require_POST
def case_refresh(request: HttpRequest, case_id) -> HttpResponse:
    return _act_on_case(request, case_id,
                        lambda case: mdt.case_refresh_summary(actor=request.user, case=case),
                        "The summary was taken from the record again.")


@login_required
@require_POST
def case_invite(request: HttpRequest, case_id) -> HttpResponse:
    return _act_on_case(request, case_id,
                        lambda case: mdt.member_invite_oncologist(actor=request.user, case=case),
                        "The oncologist was invited to attend by video and told so.")


@login_required
@require_POST
def case_step(request: HttpRequest, case_id, step: str) -> HttpResponse:
    if step not in ("defer", "withdraw"):
        raise Http404("Not found.")
    case = selectors.case_for(request.user, case_id)
    form = ReasonForm(request.POST, prefix="case")
    try:
        mdt.case_transition(actor=request.user, case=case, name=step,
                            reason=request.POST.get("case-reason", ""))
    except TransitionError as exc:
        form.is_valid()
        if exc.field == "reason":
            form.add_error("reason", exc.message)
        return _render_case(request, case, reason_form=form, error=exc, status=exc.status)
    messages.success(request, "The case was deferred." if step == "defer"
                     else "The case was withdrawn.")
    return redirect("network:mdt-case", case_id=case.external_id)


@login_required
@require_POST
def case_sign(request: HttpRequest, case_id) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    form = _outcome_form(case, request.POST)
    if not form.is_valid():
        return _render_case(request, case, outcome_form=form, status=400)
    data = form.cleaned_data
    actions = [mdt.ActionInput(text=a["text"], owner_party=a["owner_party"], due=a["due"],
                               owner_user=a["owner_user"]) for a in data["actions"]]
    try:
        mdt.case_sign(actor=request.user, case=case, recommendation=data["recommendation"],
                      rationale=data["rationale"], attendees=data["attendees"], actions=actions)
    except TransitionError as exc:
        field = exc.field or ""
        if field.startswith("actions."):
            _index, _, name = field[len("actions."):].partition(".")
            row = data["actions"][int(_index)]["row"]
            target = {"text": "text", "owner_user": "owner", "owner_party": "owner",
                      "due": "due"}.get(name, "text")
            form.add_error(f"action_{row}_{target}", exc.message)
            error = None
        else:
            error = None if _error_on(form, exc) else exc
        return _render_case(request, case, outcome_form=form, error=error, status=exc.status)
    messages.success(request, "The outcome is signed and was sent to the referring oncologist.")
    return redirect("network:mdt-case", case_id=case.external_id)


@login_required
@require_POST
def action_done(request: HttpRequest, action_id) -> HttpResponse:
    try:
        action = MdtAction.objects.select_related("case").get(external_id=action_id)
    except (MdtAction.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc
    case = selectors.case_for(request.user, action.case.external_id)  # 404 outside the scope
    done = request.POST.get("done") == "1"
    try:
        mdt.action_set_done(actor=request.user, action=action, done=done)
    except TransitionError as exc:
        return _render_case(request, case, error=exc, status=exc.status)
    messages.success(request, "The action is marked done." if done
                     else "The action is marked not done.")
    return redirect("network:mdt-case", case_id=case.external_id)


# --- the printable agenda and outcome ------------------------------------------------------------


def _pdf(template: str, context: dict) -> bytes:
    # WeasyPrint loads Pango and fonts: only when a PDF is asked for.
    from weasyprint import HTML

    return HTML(string=render_to_string(template, context)).write_pdf()


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
@require_GET
def agenda_pdf(request: HttpRequest, meeting_id) -> HttpResponse:
    """The agenda: the meeting and the cases the user sees, each with its question and summary;
    an audited export of each patient's data it prints."""
    meeting = selectors.meeting_for(request.user, meeting_id)
    cases = selectors.cases_shown(request.user, meeting)
    is_team = selectors.is_centre_team(request.user, meeting.centre_id)
    pdf = _pdf("network/mdt_agenda_pdf.html", {
        "meeting": meeting, "cases": cases,
        "members": _members_shown(meeting, request.user, is_team)})
    for case in cases:
        audit.record_export(actor=request.user, obj=case, note="MDT agenda PDF")
    return _pdf_response(pdf, f"mdt-agenda-{meeting.starts_at:%Y-%m-%d}.pdf")


@login_required
@require_GET
def outcome_pdf(request: HttpRequest, case_id) -> HttpResponse:
    """The signed outcome of one case (an audited export)."""
    case = selectors.case_for(request.user, case_id)
    if case.state != CaseState.DISCUSSED:
        messages.error(request, "The outcome is not signed yet: there is nothing to print.")
        return redirect("network:mdt-case", case_id=case.external_id)
    pdf = _pdf("network/mdt_outcome_pdf.html", {
        "case": case, "meeting": case.meeting, "patient": case.patient,
        "summary": case.summary, "attendees": list(case.attendees.select_related("user")),
        "actions": list(case.actions.select_related("owner_user", "care_task"))})
    audit.record_export(actor=request.user, obj=case, note="MDT outcome PDF")
    return _pdf_response(pdf, f"mdt-outcome-{str(case.external_id)[:8]}.pdf")
