import pytest
from django.core.management import CommandError, call_command

from netcare.models import Centre, Role, User

pytestmark = pytest.mark.django_db


def counts():
    return (Centre.objects.count(), User.objects.count(),
            sorted(User.objects.values_list("username", "password")))


def test_seed_demo_creates_centres_and_users(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    assert Centre.objects.filter(kind=Centre.Kind.SPECIALIST_CENTRE).count() == 1
    assert Centre.objects.filter(kind=Centre.Kind.REFERRING_PRACTICE).count() == 2
    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {
        "navigator": Role.NAVIGATOR, "specialist": Role.SPECIALIST,
        "oncologist": Role.REFERRING_ONCOLOGIST, "oncologist2": Role.REFERRING_ONCOLOGIST,
        "admin": Role.ADMINISTRATOR,
    }
    for user in User.objects.all():
        assert user.check_password("netcare-demo")
    onc1 = User.objects.get(username="oncologist")
    onc2 = User.objects.get(username="oncologist2")
    assert onc1.centre != onc2.centre


def test_seed_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first


def test_seed_demo_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")
    assert User.objects.count() == 0
    call_command("seed_demo", force=True)
    assert User.objects.count() == 5


def test_seed_demo_has_referrals_and_courses_at_every_stage(settings):
    from prrt.models import CourseState, CycleState, TreatmentCourse
    from referrals.models import Referral, ReferralState

    settings.DEBUG = True
    call_command("seed_demo")
    states = set(Referral.objects.values_list("state", flat=True))
    assert states == set(ReferralState.values)
    assert Referral.objects.filter(referring_oncologist__username="oncologist2").count() >= 3
    courses = {c.state: c for c in TreatmentCourse.objects.all()}
    assert {CourseState.ELIGIBILITY_REVIEW, CourseState.APPROVED, CourseState.ACTIVE,
            CourseState.COMPLETED, CourseState.DISCONTINUED} <= set(courses)
    active = courses[CourseState.ACTIVE]
    assert active.cycles.filter(state=CycleState.WITHHELD).exists()
    completed = courses[CourseState.COMPLETED]
    assert sorted(str(a) for a in completed.cycles.values_list(
        "approved_activity_gbq", flat=True)) == ["3.70", "7.40", "7.40", "7.40"]
    assert "hypersensitivity" in courses[CourseState.DISCONTINUED].ended_reason
    assert courses[CourseState.APPROVED].cycles.filter(state=CycleState.READY).exists()
