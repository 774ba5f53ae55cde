"""Stand-ins for the outgoing gateways (mail server, SMS gateway), and nothing else.

`OutboxEmailBackend` is for a real worker process: it appends one line per delivered message
(the reminder key and Message-ID) to ``$NETCARE_TEST_OUTBOX/delivered.log``. While the file
``$NETCARE_TEST_OUTBOX/hang`` exists, a send stops inside the send (before delivering), writes
``hanging.<pid>`` and waits to be killed: that is how a test kills a worker in the middle of a send.
``$NETCARE_TEST_SEND_DELAY`` (seconds) slows every send so a batch takes a while.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


def outbox_dir() -> Path:
    return Path(os.environ["NETCARE_TEST_OUTBOX"])


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        folder = outbox_dir()
        delay = float(os.environ.get("NETCARE_TEST_SEND_DELAY", "0"))
        for message in email_messages:
            if delay:
                time.sleep(delay)
            if (folder / "hang").exists():
                (folder / f"hanging.{os.getpid()}").write_text("in the middle of a send")
                time.sleep(600)
            line = f"{message.extra_headers.get('X-NETcare-Reminder')}\t" \
                   f"{message.extra_headers.get('Message-ID')}\n"
            with open(folder / "delivered.log", "a", encoding="utf-8") as log:
                log.write(line)
        return len(email_messages)


def delivered(folder: Path) -> list[str]:
    log = folder / "delivered.log"
    if not log.exists():
        return []
    return [line.split("\t")[0] for line in log.read_text().splitlines() if line]


class RecordingSmsBackend:
    """Keeps what would have gone to the SMS gateway; `fail_with` makes the gateway refuse."""

    sent: list[dict] = []
    fail_with: Exception | None = None

    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        if RecordingSmsBackend.fail_with is not None:
            raise RecordingSmsBackend.fail_with
        RecordingSmsBackend.sent.append({"to": to, "body": body, "key": idempotency_key})
