"""Bulletins: short posts from a NET centre to its referring network (a management algorithm, a
trial opening, a newsletter issue).

The centre's NET specialists and navigators publish; the referring oncologists of the practices
in its network (network.contacts.network_practices) see the current ones on their home page and
the bulletins page, and those who opted in (BulletinSubscription) get each one by email when it
is published (sent on commit with the mail backend). Bulletins name no patient.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone

from netcare import audit
from netcare.clock import plan_date_error, user_today
from netcare.models import Centre, Role, User
from netcare.workflow import TransitionForbidden, TransitionInvalid
from network.contacts import (
    contacts_by_centre,
    is_centre_team,
    network_centres,
    network_practices,
)
from network.models import Bulletin, BulletinSubscription

TITLE_MAX = 200
BODY_MAX = 20_000


def is_current(bulletin: Bulletin, *, now: dt.datetime, today: dt.date) -> bool:
    """Shown from its publication to its last day (inclusive); no last day: until replaced."""
    return bulletin.published_at <= now and (bulletin.ends_on is None or bulletin.ends_on >= today)


def _current(queryset: QuerySet[Bulletin], *, now: dt.datetime, today: dt.date):
    return queryset.filter(published_at__lte=now).filter(Q(ends_on__isnull=True)
                                                         | Q(ends_on__gte=today))


def bulletins_for(user) -> QuerySet[Bulletin]:
    """The bulletins `user` may read: the centre's team all of their centre's; a referring
    oncologist those published by the centres of their practice's networks; nobody else any."""
    queryset = Bulletin.objects.select_related("centre", "author")
    role = getattr(user, "role", "")
    if role in (Role.SPECIALIST, Role.NAVIGATOR) and user.centre_id is not None \
            and user.centre.is_specialist_centre:
        return queryset.filter(centre_id=user.centre_id)
    if role == Role.REFERRING_ONCOLOGIST:
        return queryset.filter(centre__in=network_centres(user.centre),
                               published_at__lte=timezone.now())
    return queryset.none()


def current_bulletins(user) -> QuerySet[Bulletin]:
    """The bulletins `user` may read that are shown today, newest first."""
    return _current(bulletins_for(user), now=timezone.now(), today=user_today(user))


def bulletin_for(user, external_id) -> Bulletin:
    try:
        return bulletins_for(user).get(external_id=external_id)
    except (Bulletin.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc


def bulletin_publish(*, actor: User, centre: Centre, kind: str, title: str, body: str,
                     ends_on: dt.date | None = None) -> Bulletin:
    """Publish a bulletin to the centre's network now (its team only); subscribers are emailed
    on commit. Errors name the field."""
    if not is_centre_team(actor, centre):
        raise TransitionForbidden("Only the centre's NET specialists and navigators publish "
                                  "bulletins.")
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise TransitionInvalid("Give the bulletin a title.", field="title")
    if not body:
        raise TransitionInvalid("Write the bulletin.", field="body")
    today = user_today(actor)
    if ends_on is not None:
        error = plan_date_error(ends_on, today=today, what="The last day")
        if not error and ends_on < today:
            error = "The last day is in the past."
        if error:
            raise TransitionInvalid(error, field="ends_on")
    bulletin = Bulletin(centre=centre, author=actor, kind=kind, title=title, body=body,
                        published_at=timezone.now(), ends_on=ends_on)
    bulletin.full_clean()
    with transaction.atomic():
        bulletin.save()
        audit.record_create(actor=actor, obj=bulletin)
        transaction.on_commit(lambda: bulletin_email_send(bulletin_id=bulletin.pk))
    return bulletin


def subscribers(centre: Centre) -> list[User]:
    """The referring oncologists of the centre's network who asked for bulletins by email."""
    return list(User.objects.filter(
        role=Role.REFERRING_ONCOLOGIST, is_active=True, centre__in=network_practices(centre),
        bulletin_subscription__by_email=True).exclude(email="").order_by("pk"))


def bulletin_email_send(*, bulletin_id: int) -> int:
    """Email the bulletin to its subscribers, one message each (no one sees another's address);
    returns how many were sent."""
    bulletin = Bulletin.objects.select_related("centre", "author").get(pk=bulletin_id)
    people = subscribers(bulletin.centre)
    if not people:
        return 0
    messages = []
    for person in people:
        context = {"bulletin": bulletin, "user": person, "base_url": settings.NETCARE_BASE_URL}
        messages.append(mail.EmailMessage(
            subject=render_to_string("network/bulletin_email_subject.txt", context).strip(),
            body=render_to_string("network/bulletin_email.txt", context), to=[person.email]))
    with mail.get_connection() as connection:
        sent = connection.send_messages(messages) or 0
    Bulletin.objects.filter(pk=bulletin.pk).update(emailed_to=sent)
    return sent


def subscription_of(user) -> BulletinSubscription | None:
    return BulletinSubscription.objects.filter(user=user).first()


def subscription_set(*, actor: User, by_email: bool) -> BulletinSubscription:
    """A referring oncologist's choice to get bulletins by email; audited."""
    if actor is None or actor.role != Role.REFERRING_ONCOLOGIST:
        raise TransitionForbidden("Bulletins by email are for referring oncologists.")
    with transaction.atomic():
        subscription, created = BulletinSubscription.objects.select_for_update().get_or_create(
            user=actor, defaults={"by_email": bool(by_email)})
        if created:
            audit.record_create(actor=actor, obj=subscription)
        elif subscription.by_email != bool(by_email):
            before = audit.snapshot(subscription, ["by_email"])
            subscription.by_email = bool(by_email)
            subscription.save(update_fields=["by_email", "updated_at"])
            audit.record_update(actor=actor, obj=subscription, before=before)
    return subscription


HOME_BULLETINS = 5


def oncologist_network(user) -> dict:
    """For a referring oncologist's home page, in three queries: the centres of their network
    with their NET contacts, and the newest current bulletins."""
    centres = list(network_centres(user.centre))
    contacts = contacts_by_centre(centres)
    return {"centres": [(centre, contacts[centre.pk]) for centre in centres],
            "bulletins": list(current_bulletins(user)[:HOME_BULLETINS])}
