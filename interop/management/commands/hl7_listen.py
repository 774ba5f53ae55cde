"""``python manage.py hl7_listen --port 2575 --system <client id>``: the MLLP listener.

A long-running TCP server speaking MLLP (each message framed 0x0B ... 0x1C 0x0D, python-hl7's
``hl7.mllp``). Every message on it is taken as sent by one registered system (its port is the
system's: keep it reachable from that system's integration engine only) and answered with its
ACK (AA, AE with the errors, AR), exactly as ``POST /api/v1/hl7/oru`` answers. The system is
read again for every message, so deactivating it stops the intake at once. Stops cleanly on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import hl7.mllp
from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from interop.auth import LABS_WRITE, system_principal
from interop.models import Channel, SystemClient
from interop.oru import build_ack, control_id_of, receive_oru

logger = logging.getLogger(__name__)

MAX_BYTES = 1_000_000


class Command(BaseCommand):
    help = "Listen for HL7 v2 ORU^R01 messages over MLLP and answer each with its ACK."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=2575,
                            help="TCP port (0: any free port, printed on start).")
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--system", required=True,
                            help="The registered system sending on this port: its OAuth2 "
                                 "client id or its name.")

    def handle(self, *args, **options):
        system = self._system(options["system"])
        if LABS_WRITE not in system.scope_set:
            raise CommandError(f"{system.name} is not registered with the {LABS_WRITE} scope.")
        self.system_id = system.pk
        # SIGINT before the handler is set: stop quietly all the same
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve(options["host"], options["port"], system.name))

    def _system(self, ref: str) -> SystemClient:
        system = (SystemClient.objects.filter(application__client_id=ref, is_active=True).first()
                  or SystemClient.objects.filter(name=ref, is_active=True).first())
        if system is None:
            raise CommandError(f"No active registered system '{ref}'.")
        return system

    async def _serve(self, host: str, port: int, name: str) -> None:
        server = await hl7.mllp.start_hl7_server(self._client, host=host, port=port,
                                                 limit=MAX_BYTES)
        bound = server.sockets[0].getsockname()
        self.stdout.write(f"Listening for HL7 v2 over MLLP on {bound[0]}:{bound[1]} "
                          f"for {name}", ending="\n")
        self.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()
        self.stdout.write("Stopped.", ending="\n")

    async def _client(self, reader, writer) -> None:
        try:
            while True:
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break  # the sender closed the connection
                except (hl7.mllp.InvalidBlockError, ValueError) as exc:
                    # Not MLLP framing, or too large: refuse and close (the stream is lost).
                    writer.writeblock(self._refusal(str(exc)).encode("utf-8"))
                    await writer.drain()
                    break
                text = block.decode("utf-8", errors="replace")
                answer = await sync_to_async(self._receive, thread_sensitive=True)(text)
                writer.writeblock(answer.encode("utf-8"))
                await writer.drain()
        except ConnectionError:
            logger.info("MLLP connection lost")
        finally:
            writer.close()

    def _receive(self, text: str) -> str:
        close_old_connections()
        try:
            system = SystemClient.objects.select_related("account__centre", "centre").filter(
                pk=self.system_id, is_active=True, account__is_active=True).first()
            if system is None or LABS_WRITE not in system.scope_set:
                return self._refusal("The sending system is not active with labs.write.")
            actor = system_principal(system)
            return receive_oru(text=text, system=system, channel=Channel.HL7_MLLP,
                               actor=actor).er7
        except Exception:  # answered AE: nothing was kept, the sender may send again
            logger.exception("HL7 message could not be taken in")
            return build_ack(code="AE", control_id=control_id_of(text), source=text, errors=[{
                "code": "207", "name": "Application internal error",
                "text": "NETcare could not take the message in; send it again.",
                "segment": "MSH", "sequence": 1, "field": 0}])
        finally:
            close_old_connections()

    @staticmethod
    def _refusal(text: str) -> str:
        return build_ack(code="AR", control_id="", errors=[{
            "code": "100", "name": "Segment sequence error", "text": text,
            "segment": "MSH", "sequence": 1, "field": 0}])
