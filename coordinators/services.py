"""Use cases of the coordination side: notifying people."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from coordinators.models import Notification


def notify(*, recipients: Iterable, subject: str, body: str, url: str = "") -> list[Notification]:
    """Create in-app notifications and email each recipient once the transaction commits."""
    from coordinators import tasks

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


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.update(read_at=timezone.now())
