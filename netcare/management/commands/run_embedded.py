"""Run NETcare's web server, Celery worker and Celery beat together; Ctrl-C stops all three.

The three run in their own sessions, so the terminal's Ctrl-C (SIGINT to its whole process group)
reaches this command only; it then stops them with SIGTERM, the signal each of them shuts down
cleanly on, and waits for them. Links in emails use NETCARE_BASE_URL: unless it is set already,
it is the address served here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def base_url(addr: str) -> str:
    """The URL of runserver's `addr` ("port" or "host:port")."""
    return f"http://127.0.0.1:{addr}" if addr.isdigit() else f"http://{addr}"


def child_env(addr: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the web server, worker and beat: NETCARE_BASE_URL defaults to `addr`."""
    env = dict(os.environ if environ is None else environ)
    if not env.get("NETCARE_BASE_URL"):
        env["NETCARE_BASE_URL"] = base_url(addr)
    return env


class Command(BaseCommand):
    help = "Start the web server, a Celery worker and Celery beat; stop them all on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000",
                            help="host:port (or port) the web server listens on")

    def handle(self, *args, addr: str, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        # Before anything starts: a Ctrl-C from here on is a request to stop, not an exception.
        for signum in STOP_SIGNALS:
            signal.signal(signum, stop)

        python = sys.executable
        sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
        worker = [python, "-m", "celery", "-A", "netcare", "worker", "--loglevel=INFO",
                  "--hostname=netcare-embedded@%h"]
        # SQLite takes one writer at a time: one worker process avoids lock contention.
        worker += ["--pool=solo"] if sqlite else ["--concurrency=2"]
        commands = {
            "web": [python, "manage.py", "runserver", addr, "--noreload"],
            "worker": worker,
            "beat": [python, "-m", "celery", "-A", "netcare", "beat", "--loglevel=INFO"],
        }
        env = child_env(addr)
        processes: dict[str, subprocess.Popen] = {}
        try:
            for name, cmd in commands.items():
                if stopping:
                    break
                processes[name] = subprocess.Popen(  # noqa: S603
                    cmd, env=env, start_new_session=True)
            if not stopping:
                self.say(self.style.SUCCESS(f"NETcare is running at {base_url(addr)}/"))
                self.say(f"Demo logins (password {settings.NETCARE_DEMO_PASSWORD}): "
                         "navigator, specialist, oncologist, oncologist2, admin")
                self.say("Press Ctrl-C to stop the web server, worker and beat.")
            while not stopping:
                exited = [name for name, proc in processes.items() if proc.poll() is not None]
                if exited:
                    self.say(f"{', '.join(exited)} stopped; stopping the others.", err=True)
                    break
                time.sleep(0.5)
        finally:
            # Signal first, talk afterwards: the terminal or the pipe may be gone already.
            for proc in processes.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            self.say("Stopping the web server, worker and beat...")
            deadline = time.monotonic() + 15
            for proc in processes.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)  # its session: it and its pool
                    proc.wait()
            self.say("NETcare stopped.")

    def say(self, message: str, *, err: bool = False) -> None:
        """Print a line; when nobody reads any more (closed terminal, `make run | tee` stopped
        by the same Ctrl-C), drop it and what follows rather than fail."""
        out, stream = (self.stderr, sys.stderr) if err else (self.stdout, sys.stdout)
        try:
            out.write(message)
            out.flush()
        except OSError:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
