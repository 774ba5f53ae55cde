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
