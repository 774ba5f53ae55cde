"""Telling people: in-app notifications mirrored by email, and who a centre's team is.

A leaf of the core: every app may use it; it uses no app above the core.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from netcare.models import Notification, Role, User


def notify(*, recipients: Iterable, subject: str, body: str, url: str = "") -> list[Notification]:
    """Create in-app notifications and email each recipient once the transaction commits."""
    # The Celery task module imports this one (it calls notification_email_send).
    from netcare import tasks

    unique = {user.pk: user for user in recipients if user is not None and user.is_active}
    created = Notification.objects.bulk_create(
        [Notification(recipient=user, subject=subject, body=body, url=url)
         for user in unique.values()]
    )
    for notification in created:
        transaction.on_commit(
            lambda pk=notification.pk: tasks.email_notification.delay(notification_id=pk)
        )
    return created


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's email at most once; True when this call sent it."""
    with transaction.atomic():
        notification = (Notification.objects.select_for_update().select_related("recipient")
                        .filter(pk=notification_id, emailed_at__isnull=True).first())
        if notification is None or not notification.recipient.email:
            return False
        context = {"notification": notification, "user": notification.recipient,
                   "base_url": settings.NETCARE_BASE_URL}
        message = EmailMultiAlternatives(
            subject=render_to_string("emails/notification_subject.txt", context).strip(),
            body=render_to_string("emails/notification.txt", context),
            to=[notification.recipient.email],
        )
        message.attach_alternative(render_to_string("emails/notification.html", context),
                                   "text/html")
        message.send()
        notification.emailed_at = timezone.now()
        notification.email_attempts += 1
        notification.save(update_fields=["emailed_at", "email_attempts"])
    return True


def centre_team(centre_id: int) -> list[User]:
    """The active navigators and NET specialists of a centre, by name: who hears about a
    patient's news and who may take over a task."""
    return list(User.objects.filter(centre_id=centre_id, is_active=True,
                                    role__in=[Role.NAVIGATOR, Role.SPECIALIST])
                .order_by("last_name", "first_name", "pk"))


def centre_navigators(centre_id: int) -> list[User]:
    return list(User.objects.filter(role=Role.NAVIGATOR, centre_id=centre_id, is_active=True)
                .order_by("pk"))


def centre_specialists(centre_id: int) -> list[User]:
    return list(User.objects.filter(role=Role.SPECIALIST, centre_id=centre_id, is_active=True)
                .order_by("pk"))
