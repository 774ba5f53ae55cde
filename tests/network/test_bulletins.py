"""Bulletins: published by a centre's team to its referring network, seen by the oncologists of
the network's practices only (home page, bulletins page, API), while current; by email to those
who asked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from netcare.models import AuditEvent, Role
from netcare.workflow import TransitionForbidden, TransitionInvalid
from network import bulletins as services
from network.models import Bulletin, BulletinSubscription
from referrals.models import ReferralState
from tests.apiclient import API, client_for, results
from tests.factories import PatientFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)  # Riverside (London) day: 22 Nov


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def network(centre, oncologist):
    """Hillview (the oncologist's practice) has referred to Riverside; Lakeside has not."""
    ReferralFactory(patient=PatientFactory(centre=centre, referring_oncologist=oncologist),
                    state=ReferralState.SUBMITTED)


def publish(actor, centre, **overrides):
    fields = {"kind": "trial", "title": "NETTER-3 is recruiting",
              "body": "First-line PRRT for high-grade GEP-NET: ask us about eligibility."}
    fields.update(overrides)
    return services.bulletin_publish(actor=actor, centre=centre, **fields)


def test_network_practices_only(client, now, network, centre, specialist, oncologist,
                                oncologist2, outside_navigator):
    bulletin = publish(specialist, centre)
    client.force_login(oncologist)
    assert "NETTER-3 is recruiting" in client.get(reverse("oncologist-home")).content.decode()
    assert [b.pk for b in client.get(reverse("network:bulletins")).context["bulletins"]] == [
        bulletin.pk]
    assert client.get(reverse("network:bulletin", args=[bulletin.external_id])).status_code \
        == 200
    for outsider in (oncologist2, outside_navigator):
        client.force_login(outsider)
        assert client.get(reverse("network:bulletins")).context["bulletins"] == []
        assert client.get(reverse("network:bulletin",
                                  args=[bulletin.external_id])).status_code == 404
    client.force_login(oncologist2)
    assert "NETTER-3" not in client.get(reverse("network:bulletins")).content.decode()
    assert "NETTER-3" not in client.get(reverse("oncologist-home")).content.decode()


def test_network_practices_only_in_the_api(now, network, centre, specialist, navigator,
                                           oncologist, oncologist2, outside_navigator):
    bulletin = publish(specialist, centre)
    url = f"{API}/bulletins/{bulletin.external_id}/"
    for user in (oncologist, navigator):
        rows = results(client_for(user).get(f"{API}/bulletins/"))
        assert [(r["id"], r["current"]) for r in rows] == [(str(bulletin.external_id), True)]
        assert client_for(user).get(url).status_code == 200
    for user in (oncologist2, outside_navigator):
        assert results(client_for(user).get(f"{API}/bulletins/")) == []
        assert client_for(user).get(url).status_code == 404


@pytest.mark.parametrize(("ends_on", "shown"), [
    (None, True),
    (dt.date(2026, 11, 22), True),  # the last day is today: still shown
    (dt.date(2026, 11, 21), False),
])
def test_shown_until_its_last_day(client, time_machine, network, centre, specialist,
                                  oncologist, ends_on, shown):
    time_machine.move_to(dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC), tick=False)
    bulletin = publish(specialist, centre, ends_on=ends_on)
    time_machine.move_to(NOW, tick=False)
    client.force_login(oncologist)
    listed = client.get(reverse("network:bulletins")).context["bulletins"]
    assert (bulletin in listed) is shown
    home = client.get(reverse("oncologist-home"))
    assert (bulletin in home.context["network"]["bulletins"]) is shown
    # The centre's team keeps seeing all it published.
    client.force_login(specialist)
    assert bulletin in client.get(reverse("network:bulletins")).context["bulletins"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": " "}, "title"),
    ({"body": ""}, "body"),
    ({"ends_on": dt.date(2026, 11, 21)}, "ends_on"),
    ({"ends_on": dt.date(2028, 11, 23)}, "ends_on"),  # more than two years ahead
])
def test_publishing_refuses_bad_input_by_field(now, centre, specialist, overrides, field):
    with pytest.raises(TransitionInvalid) as refused:
        publish(specialist, centre, **overrides)
    assert refused.value.field == field
    assert not Bulletin.objects.exists()


def test_bounds_that_are_accepted(now, centre, specialist):
    assert publish(specialist, centre, ends_on=dt.date(2026, 11, 22)).ends_on == NOW.date()
    assert publish(specialist, centre, ends_on=dt.date(2028, 11, 22))


@pytest.mark.parametrize("persona", ["oncologist", "outside_specialist", "administrator"])
def test_only_the_centre_team_publishes(request, client, now, centre, persona):
    with pytest.raises(TransitionForbidden):
        publish(request.getfixturevalue(persona), centre)
    client.force_login(request.getfixturevalue(persona))
    # Another centre's specialist publishes to their own network only.
    expected = 200 if persona == "outside_specialist" else 403
    assert client.get(reverse("network:bulletin-new")).status_code == expected


def test_publishing_through_the_page(client, now, navigator, centre):
    client.force_login(navigator)
    response = client.post(reverse("network:bulletin-new"), {
        "kind": "algorithm", "title": "Second-line options", "body": "After SSA: ...",
        "ends_on": ""})
    bulletin = Bulletin.objects.get()
    assert response.status_code == 302
    assert (bulletin.author, bulletin.centre, bulletin.published_at) == (navigator, centre, NOW)
    assert AuditEvent.objects.filter(action="create", object_id=str(bulletin.external_id),
                                     actor=navigator).exists()
    response = client.post(reverse("network:bulletin-new"), {
        "kind": "algorithm", "title": "Late", "body": "x", "ends_on": "2026-11-01"})
    assert response.status_code == 400
    assert 'id="id_ends_on_error"' in response.content.decode()


def test_subscribers_in_the_network_are_emailed(client, now, network, centre, specialist,
                                                oncologist, oncologist2, practice,
                                                django_capture_on_commit_callbacks):
    quiet = UserFactory(role=Role.REFERRING_ONCOLOGIST, centre=practice)  # in, not subscribed
    for user in (oncologist, oncologist2):  # oncologist2's practice is not in the network
        services.subscription_set(actor=user, by_email=True)
    services.subscription_set(actor=quiet, by_email=False)
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = publish(specialist, centre)
    assert [message.to for message in mail.outbox] == [[oncologist.email]]
    [message] = mail.outbox
    assert message.subject == "Riverside NET Centre: NETTER-3 is recruiting"
    assert "First-line PRRT for high-grade GEP-NET" in message.body
    assert f"/network/bulletins/{bulletin.external_id}/" in message.body
    assert Bulletin.objects.get(pk=bulletin.pk).emailed_to == 1


def test_the_email_choice(client, oncologist):
    client.force_login(oncologist)
    assert client.post(reverse("network:bulletin-subscription"),
                       {"by_email": "on"}).status_code == 302
    assert BulletinSubscription.objects.get(user=oncologist).by_email is True
    client.post(reverse("network:bulletin-subscription"), {})
    assert BulletinSubscription.objects.get(user=oncologist).by_email is False
    assert AuditEvent.objects.filter(actor=oncologist, action__in=["create", "update"],
                                     object_type="network.BulletinSubscription").count() == 2
    page = client.get(reverse("network:bulletins")).content.decode()
    assert 'name="by_email"' in page and "checked" not in page.split('name="by_email"')[1][:60]
