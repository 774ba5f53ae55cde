"""netcare.access: every role, plus outsiders who must get nothing (and 404 on pages)."""

import uuid

import pytest
from django.urls import reverse

from netcare import access
from netcare.models import Role
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(centre, other_centre, oncologist, oncologist2):
    mine = PatientFactory(centre=centre, referring_oncologist=oncologist)
    shared = PatientFactory(centre=centre, referring_oncologist=oncologist2,
                            primary_oncologist=oncologist)
    theirs = PatientFactory(centre=centre, referring_oncologist=oncologist2)
    elsewhere = PatientFactory(centre=other_centre, referring_oncologist=oncologist2)
    return {"mine": mine, "shared": shared, "theirs": theirs, "elsewhere": elsewhere}


def names(queryset):
    return set(queryset.values_list("mrn", flat=True))


def mrns(world, *keys):
    return {world[key].mrn for key in keys}


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("navigator", ["mine", "shared", "theirs"]),
        ("specialist", ["mine", "shared", "theirs"]),
        ("oncologist", ["mine", "shared"]),
        ("oncologist2", ["shared", "theirs", "elsewhere"]),
        ("outside_specialist", ["elsewhere"]),
        ("outside_navigator", ["elsewhere"]),
        ("administrator", []),
    ],
)
def test_visible_patients_per_role(request, world, persona, expected):
    user = request.getfixturevalue(persona)
    assert names(access.visible_patients(user)) == mrns(world, *expected)
    for key, patient in world.items():
        assert access.can_view_patient(user, patient) is (key in expected)
        assert access.can_change_patient(user, patient) is (key in expected)


def scope_sql_mrns(user) -> set[str]:
    from django.db import connection

    condition = access.patient_scope_sql(user)
    if condition is None:
        return set()
    sql, params = condition
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT mrn FROM patients_patient WHERE {sql}", params)  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("persona", ["navigator", "specialist", "oncologist", "oncologist2",
                                     "outside_specialist", "outside_navigator", "administrator"])
def test_the_scope_as_sql_selects_the_same_patients(request, world, persona):
    """Reads written in SQL (the caseload) scope by access.py's own rule."""
    user = request.getfixturevalue(persona)
    assert scope_sql_mrns(user) == names(access.visible_patients(user))


def test_the_scope_as_sql_is_none_for_unusual_accounts(world, centre, practice):
    from django.contrib.auth.models import AnonymousUser

    for user in (UserFactory(role="", centre=centre), UserFactory(role=Role.NAVIGATOR, centre=None),
                 UserFactory(role=Role.NAVIGATOR, centre=practice),
                 UserFactory(role=Role.SPECIALIST, centre=centre, is_active=False),
                 AnonymousUser()):
        assert access.patient_scope_sql(user) is None


def test_deny_by_default_for_unusual_accounts(world, centre, practice):
    no_role = UserFactory(role="", centre=centre)
    navigator_without_centre = UserFactory(role=Role.NAVIGATOR, centre=None)
    navigator_at_practice = UserFactory(role=Role.NAVIGATOR, centre=practice)
    inactive = UserFactory(role=Role.SPECIALIST, centre=centre, is_active=False)
    for user in (no_role, navigator_without_centre, navigator_at_practice, inactive):
        assert not access.visible_patients(user).exists()
        assert not access.can_view_patient(user, world["mine"])


def test_anonymous_sees_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert not access.visible_patients(AnonymousUser()).exists()
    assert not access.can_view_patient(AnonymousUser(), world["mine"])


def test_get_patient_for_raises_404_outside_scope(world, oncologist):
    from django.http import Http404

    assert access.get_patient_for(oncologist, world["mine"].external_id) == world["mine"]
    for key in ("theirs", "elsewhere"):
        with pytest.raises(Http404):
            access.get_patient_for(oncologist, world[key].external_id)
    with pytest.raises(Http404):
        access.get_patient_for(oncologist, uuid.uuid4())
    with pytest.raises(Http404):
        access.get_patient_for(oncologist, "not-a-uuid")


@pytest.mark.parametrize(
    ("persona", "status"),
    [("navigator", 200), ("specialist", 200), ("oncologist", 200),
     ("oncologist2", 404), ("outside_specialist", 404), ("administrator", 404)],
)
def test_patient_page_is_404_outside_scope(client, request, world, persona, status):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("patients:detail", args=[world["mine"].external_id])
    response = client.get(url)
    assert response.status_code == status
    if status == 404:
        assert world["mine"].family_name not in response.content.decode()


def test_patient_page_requires_login(client, world):
    url = reverse("patients:detail", args=[world["mine"].external_id])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
