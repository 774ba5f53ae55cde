"""MDT reads: who sees which meetings and cases (netcare.access underneath, deny by default).

The centre's navigators and NET specialists see their centre's meetings and every case on them;
a referring oncologist sees only the cases of patients they may see, and the meetings that hold
one (the other cases are not even counted); a registered system reads its centre's. Anything
else is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from netcare.access import is_system, scope_to_patients, visible_patients
from netcare.clock import CLOCK_SKEW
from netcare.models import Role
from netcare.workflow import TransitionInvalid
from network.models import CaseState, MdtAction, MdtCase, MdtMeeting, MdtMember, MeetingState
from patients.models import Patient
from prrt.models import CourseState, TreatmentCourse
from referrals.models import Referral, ReferralState

# Cases are listed, and members added, while the meeting has not ended.
OPEN_MEETING_STATES = (MeetingState.SCHEDULED, MeetingState.HELD)
# The course an action becomes a care task on: the patient's newest at the centre in these.
CURRENT_COURSE_STATES = (CourseState.ELIGIBILITY_REVIEW, CourseState.APPROVED,
                         CourseState.ACTIVE, CourseState.COMPLETED)
RECENT_OUTCOME_DAYS = 90
RECENT_OUTCOMES_SHOWN = 10


def is_centre_team(user, centre_id: int) -> bool:
    """A navigator or NET specialist of the (specialist) centre `centre_id`."""
    return (user is not None and user.is_authenticated and user.is_active
            and user.role in (Role.NAVIGATOR, Role.SPECIALIST) and user.centre_id == centre_id
            and user.centre is not None and user.centre.is_specialist_centre)


def cases_visible(user) -> QuerySet[MdtCase]:
    """Every MDT case of a patient `user` may see; the centre's team only its own meetings'."""
    cases = scope_to_patients(user, MdtCase.objects.all())
    if getattr(user, "role", "") != Role.REFERRING_ONCOLOGIST:  # the team, or a system
        cases = cases.filter(meeting__centre_id=getattr(user, "centre_id", None))
    return cases


def meetings_visible(user) -> QuerySet[MdtMeeting]:
    """The meetings `user` may open: their centre's (the team), or those holding a case of
    one of their patients (a referring oncologist)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return MdtMeeting.objects.none()
    if user.role in (Role.NAVIGATOR, Role.SPECIALIST) or is_system(user):
        if user.centre is None or not user.centre.is_specialist_centre:
            return MdtMeeting.objects.none()
        return MdtMeeting.objects.filter(centre_id=user.centre_id)
    if user.role == Role.REFERRING_ONCOLOGIST:
        mine = cases_visible(user).filter(meeting_id=OuterRef("pk"))
        return MdtMeeting.objects.filter(Exists(mine))
    return MdtMeeting.objects.none()


def meeting_for(user, external_id) -> MdtMeeting:
    """A meeting `user` may open, or Http404 (also for a malformed id)."""
    try:
        return (meetings_visible(user).select_related("centre", "chair")
                .get(external_id=external_id))
    except (MdtMeeting.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc


def case_for(user, external_id) -> MdtCase:
    """A case `user` may open, or Http404 (also for a malformed id)."""
    try:
        return (cases_visible(user)
                .select_related("meeting__centre", "meeting__chair", "patient__centre",
                                "patient__referring_oncologist", "patient__primary_oncologist",
                                "referral", "signed_by", "added_by")
                .get(external_id=external_id))
    except (MdtCase.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc


def cases_shown(user, meeting: MdtMeeting) -> list[MdtCase]:
    """The cases of `meeting` that `user` sees, in agenda order: all of them for the centre's
    team, only their own patients' for an oncologist (the others are not even counted)."""
    return list(cases_visible(user).filter(meeting=meeting)
                .select_related("patient", "referral", "signed_by")
                .prefetch_related(
                    Prefetch("actions", queryset=MdtAction.objects.select_related(
                        "care_task", "owner_user")),
                    Prefetch("attendees", queryset=MdtMember.objects.select_related("user")))
                .order_by("position", "id"))


def recent_outcomes(user, *, days: int = RECENT_OUTCOME_DAYS) -> list[MdtCase]:
    """The MDT outcomes signed for `user`'s patients in the last `days` days, newest first:
    what a referring oncologist's home page shows."""
    since = timezone.now() - dt.timedelta(days=days)
    return list(cases_visible(user).filter(state=CaseState.DISCUSSED, signed_at__gte=since)
                .select_related("patient", "meeting__centre")
                .order_by("-signed_at", "-id")[:RECENT_OUTCOMES_SHOWN])


def patients_to_list(actor, meeting: MdtMeeting, query: str) -> list[Patient]:
    """The centre's patients whose MRN is `query` or whose name contains it (at most 20)."""
    query = (query or "").strip()
    if len(query) < 2:
        raise TransitionInvalid("Type at least two characters of the MRN or the name.",
                                field="query")
    words = query.split()
    matches = Q(mrn__iexact=query)
    name = Q()
    for word in words:
        name &= Q(family_name__icontains=word) | Q(given_name__icontains=word)
    return list(visible_patients(actor).filter(centre_id=meeting.centre_id)
                .filter(matches | name).order_by("family_name", "given_name", "id")[:20])


def case_referral(patient: Patient, centre_id: int) -> Referral | None:
    """The referral a case of `patient` is about, by default: their newest one to the centre
    that was submitted (a draft is the oncologist's own)."""
    return (Referral.objects.filter(patient=patient, centre_id=centre_id)
            .exclude(state=ReferralState.DRAFT).order_by("-created_at", "-id").first())


def current_course(patient: Patient, centre_id: int) -> TreatmentCourse | None:
    """The patient's course at the centre that an MDT action becomes a care task on: the
    newest one that is under review, approved, running or completed (its follow-up)."""
    return (TreatmentCourse.objects.filter(patient=patient, centre_id=centre_id,
                                           state__in=CURRENT_COURSE_STATES)
            .order_by("-created_at", "-id").first())


def upcoming(meetings: Iterable[MdtMeeting], now: dt.datetime | None = None
             ) -> tuple[list[MdtMeeting], list[MdtMeeting]]:
    """Meetings split into upcoming (not ended and still scheduled or held) and past."""
    now = now or timezone.now()
    ahead, past = [], []
    for meeting in meetings:
        running = meeting.state in OPEN_MEETING_STATES and meeting.ends_at + CLOCK_SKEW >= now
        (ahead if running or meeting.state == MeetingState.HELD else past).append(meeting)
    return ahead, past
