"""Text messages to patients through a pluggable backend.

``NETCARE_SMS_BACKEND`` names a class with ``send(*, to, body, idempotency_key)``; the default
only logs that a message would have been sent (the last digits of the number and the key, never
the text). A gateway backend raises :class:`SmsError` when the gateway refuses or cannot be
reached, and passes ``idempotency_key`` on so a resend after a crash is recognised as the same
message where the gateway supports it.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The message could not be handed to the gateway; the send is retried with backoff."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str) -> None: ...


def masked(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"…{digits[-3:]}" if len(digits) >= 3 else "…"


class LoggingSmsBackend:
    """Sends nothing: logs that a message was due (no text, no full number)."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        logger.info("SMS to %s (%d characters), key %s", masked(to), len(body), idempotency_key)


@cache
def _backend_class(path: str) -> type:
    return import_string(path)


def get_backend() -> SmsBackend:
    return _backend_class(settings.NETCARE_SMS_BACKEND)()


def send_sms(*, to: str, body: str, idempotency_key: str) -> None:
    get_backend().send(to=to, body=body, idempotency_key=idempotency_key)
