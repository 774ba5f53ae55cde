"""The course letter's page: the centre's team prepares, edits and sends it; the referring
oncologist reads the sent letter and downloads it as a PDF. Every read is audited; a course
outside the user's patients is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from coordinators import letters
from coordinators.models import CareTask, OwnerParty, ReferralLetter, TaskState
from netcare import audit
from netcare.clock import centre_today
from netcare.workflow import TransitionError, TransitionInvalid
from prrt.selectors import course_for


def _readable(letter: ReferralLetter | None, is_team: bool) -> bool:
    """The team reads drafts; the oncologists read the letter once it was sent."""
    return letter is not None and (is_team or letter.state == ReferralLetter.State.SENT)


def _render(request: HttpRequest, course, *, body: str | None = None,
            error: TransitionError | None = None) -> HttpResponse:
    letter = letters.letter_of(course)
    is_team = letters.is_centre_team(request.user, course)
    readable = _readable(letter, is_team)
    audit.record_view(actor=request.user, obj=letter if readable else course,
                      ip_address=audit.client_ip(request))
    context = {
        "course": course, "patient": course.patient, "letter": letter if readable else None,
        "is_team": is_team, "is_draft": readable and letter.state == ReferralLetter.State.DRAFT,
        "body": body if body is not None else (letter.body if readable else ""),
        "error": error, "can_prepare": is_team and letter is None
        and course.state not in letters.NOT_STARTED_STATES,
    }
    if is_team and context["is_draft"]:
        context["send_blocker"] = letters.letter_send_blocker(course,
                                                              today=centre_today(course.centre))
        context["moving_tasks"] = (CareTask.objects.filter(
            course=course, state=TaskState.OPEN, kind__in=letters.FOLLOW_UP_KINDS)
            .exclude(owner_party=OwnerParty.PRACTICE).count())
        context["oncologist"] = course.referral.referring_oncologist
    return render(request, "coordinators/letter.html", context,
                  status=error.status if error is not None else 200)


@login_required
@require_GET
def letter_page(request: HttpRequest, course_id) -> HttpResponse:
    return _render(request, course_for(request.user, course_id))


def _act(request: HttpRequest, course_id, action, done: str) -> HttpResponse:
    course = course_for(request.user, course_id)
    try:
        action(course)
    except TransitionError as exc:
        return _render(request, course, body=request.POST.get("body"), error=exc)
    messages.success(request, done)
    return redirect("letters:letter", course_id=course.external_id)


@login_required
@require_POST
def letter_prepare(request: HttpRequest, course_id) -> HttpResponse:
    redraft = request.POST.get("redraft") == "1"
    return _act(request, course_id,
                lambda course: letters.letter_prepare(actor=request.user, course=course,
                                                      redraft=redraft),
                "The letter was redrafted from the record." if redraft
                else "The letter was drafted from the record: read and edit it before sending.")


@login_required
@require_POST
def letter_save(request: HttpRequest, course_id) -> HttpResponse:
    return _act(request, course_id,
                lambda course: letters.letter_save(actor=request.user, course=course,
                                                   body=request.POST.get("body", "")),
                "The draft was saved.")


def _send(request: HttpRequest, course) -> None:
    # The role and the letter's state first (403, 409), then the input (400).
    letters.letter_send_check(actor=request.user, course=course)
    if request.POST.get("confirm") != "1":
        raise TransitionInvalid("Tick the box to confirm the letter is ready to send.",
                                field="confirm")
    letters.letter_send(actor=request.user, course=course, body=request.POST.get("body"))


@login_required
@require_POST
def letter_send(request: HttpRequest, course_id) -> HttpResponse:
    return _act(request, course_id, lambda course: _send(request, course),
                "The letter was sent and the patient referred back.")


@login_required
@require_GET
def letter_pdf(request: HttpRequest, course_id) -> HttpResponse:
    """The letter as a PDF (an audited export): the team's draft or the sent letter."""
    course = course_for(request.user, course_id)
    letter = letters.letter_of(course)
    if not _readable(letter, letters.is_centre_team(request.user, course)):
        raise Http404("Not found.")
    pdf = letters.letter_pdf(letter)
    audit.record_export(actor=request.user, obj=letter,
                        note=f"course letter PDF ({letter.get_state_display().lower()})")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="course-letter-{str(course.external_id)[:8]}.pdf"')
    return response
