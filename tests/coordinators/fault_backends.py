"""The outbox of tests/coordinators/backends.py with a pause, for the fault tests: while the file
``$NETCARE_TEST_OUTBOX/pause`` exists, a send that has just delivered its message writes
``paused.<pid>`` and waits for the file to go. The worker then holds a batch that has delivered
and not committed: the moment a test restarts PostgreSQL in."""

from __future__ import annotations

import os
import time

from tests.coordinators.backends import OutboxEmailBackend, outbox_dir


class PausingOutboxEmailBackend(OutboxEmailBackend):
    def send_messages(self, email_messages):
        count = super().send_messages(email_messages)
        folder = outbox_dir()
        if (folder / "pause").exists():
            marker = folder / f"paused.{os.getpid()}"
            marker.write_text("delivered, not committed")
            deadline = time.monotonic() + 120
            while (folder / "pause").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            marker.unlink(missing_ok=True)
        return count
