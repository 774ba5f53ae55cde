"""The same results sent at the same moment under different control ids (two interface engines,
or a resend racing the first send), over real HTTP to a live server: each is answered AA, the
results are stored once, the others are counted as duplicates; never a server error."""

from __future__ import annotations

import datetime as dt
import threading
import urllib.request

import pytest

from interop.models import InboundMessage, ReceivedResult
from patients.models import LabResult
from tests.interop.hl7_builders import CBC, CBC_PANEL, ack_fields, oru, register, token

pytestmark = pytest.mark.integration

DRAWN = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
SENDERS = 6


def test_simultaneous_copies_are_stored_once(live_server, client, centre, patient):
    bearer = token(client, register(centre))
    barrier = threading.Barrier(SENDERS)
    answers: list[tuple[int, str]] = []

    def send(n: int) -> None:
        body = oru(f"RACE-{n}", patient.mrn, [("F9001", CBC_PANEL, CBC)], collected=DRAWN)
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/hl7/oru", data=body.encode(), method="POST",
            headers={"Content-Type": "application/hl7-v2", "Authorization": f"Bearer {bearer}"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answers.append((response.status, response.read().decode()))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, exc.read().decode()))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * SENDERS, answers
    assert all(ack_fields(body)["code"] == ["AA"] for _, body in answers)
    assert InboundMessage.objects.count() == SENDERS
    assert ReceivedResult.objects.count() == len(CBC)  # each result kept once
    assert LabResult.objects.count() == ReceivedResult.objects.filter(
        status=ReceivedResult.Status.STORED).count() == 5  # the five analytes NETcare reads
    duplicates = sum(m.summary.get("duplicates", 0) for m in InboundMessage.objects.all())
    assert duplicates == len(CBC) * (SENDERS - 1)
