"""The demo shows the MDT: a past meeting with signed outcomes (an action become a care task,
an action kept as an MDT action), an upcoming one with two listed cases and the demo oncologist
invited to one; seeding twice adds nothing."""

import pytest
from django.core.management import call_command

from coordinators.models import TaskKind
from network.models import CaseState, MdtAction, MdtCase, MdtMeeting, MeetingState

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_past_and_an_upcoming_meeting(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    past, upcoming = MdtMeeting.objects.order_by("starts_at")
    assert past.state == MeetingState.CLOSED
    assert sorted(past.cases.values_list("state", flat=True)) == [CaseState.DISCUSSED] * 2
    assert upcoming.state == MeetingState.SCHEDULED
    assert sorted(upcoming.cases.values_list("state", flat=True)) == [CaseState.LISTED] * 2
    assert upcoming.members.filter(user__username="oncologist", virtual=True).exists()
    tasks = MdtAction.objects.filter(care_task__isnull=False)
    assert [a.care_task.kind for a in tasks] == [TaskKind.MDT_ACTION]
    assert tasks.get().case.patient.family_name == "Hartfield"
    kept = MdtAction.objects.filter(care_task__isnull=True)
    assert {a.case.patient.family_name for a in kept} == {"Fairlie"} and kept.count() == 2
    call_command("seed_demo")
    assert (MdtMeeting.objects.count(), MdtCase.objects.count()) == (2, 4)
