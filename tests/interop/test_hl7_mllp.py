"""HL7 v2 over MLLP: the real listener (`manage.py hl7_listen`) as a subprocess on a free port,
spoken to over a TCP socket with MLLP framing (0x0B message 0x1C 0x0D)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from interop.models import InboundMessage, UnmatchedResult
from patients.models import LabResult
from tests.interop.hl7_builders import (
    CBC,
    CBC_PANEL,
    CHEM_MG_DL,
    CHEM_PANEL,
    Obx,
    ack_fields,
    oru,
    post_oru,
    register,
    token,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
START, END = b"\x0b", b"\x1c\x0d"
DRAWN = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)


class Listener:
    """`manage.py hl7_listen --port 0` on the test database, in its own process group."""

    def __init__(self, system_ref: str):
        from django.db import connection

        db = connection.settings_dict
        env = dict(os.environ)
        env["DATABASE_URL"] = (f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/"
                               f"{db['NAME']}")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "hl7_listen", "--port", "0", "--system", system_ref],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        line = self.proc.stdout.readline()  # "Listening ... on 127.0.0.1:<port> for <name>"
        if "Listening" not in line:
            self.stop()
            pytest.fail(f"the listener did not start: {line} {self.proc.stderr.read()}")
        self.port = int(line.split(" on ")[1].split(" ")[0].rsplit(":", 1)[1])

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def system(centre):
    return register(centre)


@pytest.fixture
def listener(system):
    running = Listener(system.client_id)
    yield running
    running.stop()


def exchange(port: int, *frames: bytes, timeout: float = 30.0) -> list[str]:
    """Send each frame on one connection and read one MLLP-framed answer after each."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for frame in frames:
            sock.sendall(frame)
            buffer = b""
            deadline = time.monotonic() + timeout
            while not buffer.endswith(END):
                assert time.monotonic() < deadline, "no ACK in time"
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {buffer!r}"
                buffer += chunk
            assert buffer.startswith(START)
            answers.append(buffer[1:-2].decode("utf-8"))
    return answers


def framed(message: str) -> bytes:
    return START + message.encode("utf-8") + END


def test_messages_over_mllp_are_stored_and_acknowledged(listener, patient, system, client):
    cbc = oru("MLLP-0001", patient.mrn, [("M1001", CBC_PANEL, CBC), ("M1002", CHEM_PANEL,
                                                                     CHEM_MG_DL)],
              collected=DRAWN)
    unknown = oru("MLLP-0002", "NC99-999999", [("M2001", CBC_PANEL, CBC[:6])],
                  collected=DRAWN)
    censored = oru("MLLP-0003", patient.mrn, [("M3001", CBC_PANEL, [
        Obx("777-3", "Platelets", "<^20", "10*9/L", "150-400", value_type="SN")])],
        collected=DRAWN)

    first, second, third, again = exchange(listener.port, framed(cbc), framed(unknown),
                                           framed(censored), framed(cbc))

    assert ack_fields(first)["code"] == ["AA"] and ack_fields(first)["control"] == ["MLLP-0001"]
    stored = {lab.analyte: lab.value for lab in LabResult.objects.filter(patient=patient)}
    assert len(stored) == 10 and stored["platelets"] == Decimal("210")
    message = InboundMessage.objects.get(control_id="MLLP-0001")
    assert (message.channel, message.body.strip("\r")) == ("hl7-mllp", cbc.strip("\r"))

    unknown_ack = ack_fields(second)
    assert unknown_ack["code"] == ["AE"]
    assert unknown_ack["errors"] == ["204@PID3"] * 3  # three of its six results are kept
    assert UnmatchedResult.objects.filter(problem="unknown_patient").count() == 3

    censored_ack = ack_fields(third)
    assert (censored_ack["code"], censored_ack["errors"]) == (["AE"], ["102@OBX5"])
    entry = UnmatchedResult.objects.get(problem="not_a_number")
    assert entry.received.value == "<20"

    assert ack_fields(again)["code"] == ["AA"] and "Duplicate" in ack_fields(again)["text"][0]
    assert LabResult.objects.filter(patient=patient).count() == 10

    # The same message sent over HTTP afterwards is the same message: nothing changes.
    response = post_oru(client, token(client, system), cbc)
    assert ack_fields(response.content.decode())["code"] == ["AA"]
    assert InboundMessage.objects.filter(control_id="MLLP-0001").count() == 1
    assert LabResult.objects.filter(patient=patient).count() == 10

    assert listener.stop() == 0


def test_bad_framing_and_a_message_that_is_not_oru_are_refused(listener, patient):
    adt = oru("MLLP-ADT", patient.mrn, [("A1", CBC_PANEL, CBC[:1])], collected=DRAWN,
              kind="ADT^A01^ADT_A01")
    (answer,) = exchange(listener.port, framed(adt))
    assert ack_fields(answer)["code"] == ["AR"]
    assert InboundMessage.objects.get(control_id="MLLP-ADT").outcome == "rejected"

    (answer,) = exchange(listener.port, b"MSH|no start block" + END)
    assert ack_fields(answer)["code"] == ["AR"]
    assert not LabResult.objects.exists()


def test_a_deactivated_system_is_refused_at_once(listener, system, patient):
    type(system.system).objects.filter(pk=system.system.pk).update(is_active=False)
    message = oru("MLLP-OFF", patient.mrn, [("X1", CBC_PANEL, CBC[:1])], collected=DRAWN)
    (answer,) = exchange(listener.port, framed(message))
    assert ack_fields(answer)["code"] == ["AR"]
    assert not InboundMessage.objects.exists()
