"""Helpers of the MDT tests: meetings and cases in any state, through the services where a test
is about them and set directly where a state is only the starting point."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from network import mdt
from network.models import CaseState, MdtCase, MdtMeeting, MeetingState


def schedule(actor, *, chair=None, starts_at: dt.datetime | None = None,
             **kwargs) -> MdtMeeting:
    starts_at = starts_at or timezone.now() + dt.timedelta(days=2)
    kwargs.setdefault("place", "Tumour board room")
    return mdt.meeting_schedule(actor=actor, starts_at=starts_at, chair=chair or actor,
                                **kwargs)


def set_meeting_state(meeting: MdtMeeting, state: str) -> MdtMeeting:
    """Put the meeting in `state` as if its earlier steps were taken."""
    fields = {"state": state}
    if state == MeetingState.CANCELLED:
        fields["reason"] = "set up by the test"
    MdtMeeting.objects.filter(pk=meeting.pk).update(**fields)
    return MdtMeeting.objects.get(pk=meeting.pk)


def list_case(actor, meeting: MdtMeeting, patient, question="PRRT now or continue SSA?"):
    return mdt.case_list(actor=actor, meeting=meeting, patient=patient, question=question)


def set_case_state(case: MdtCase, state: str, signer=None) -> MdtCase:
    """Put the case in `state` as if its earlier steps were taken."""
    fields: dict = {"state": state}
    if state == CaseState.DISCUSSED:
        fields.update(recommendation="prrt", rationale="set up by the test",
                      signed_by=signer, signed_at=timezone.now())
    if state in (CaseState.DEFERRED, CaseState.WITHDRAWN):
        fields["reason"] = "set up by the test"
    MdtCase.objects.filter(pk=case.pk).update(**fields)
    return MdtCase.objects.get(pk=case.pk)


def chair_member(meeting: MdtMeeting):
    return meeting.members.get(user=meeting.chair)
