"""Run NETcare's web server, Celery worker and Celery beat together; Ctrl-C stops all three."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server, a Celery worker and Celery beat; stop them all on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr: str, **options):
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
        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603
        self.stdout.write(self.style.SUCCESS(f"NETcare is running at http://{addr}/"))
        self.stdout.write(
            f"Demo logins (password {settings.NETCARE_DEMO_PASSWORD}): "
            "navigator, specialist, oncologist, oncologist2, admin"
        )
        self.stdout.write("Press Ctrl-C to stop the web server, worker and beat.")

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                exited = [name for name, proc in processes.items() if proc.poll() is not None]
                if exited:
                    self.stderr.write(f"{', '.join(exited)} stopped; stopping the others.")
                    break
                time.sleep(0.5)
        finally:
            for proc in processes.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in processes.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
            self.stdout.write("NETcare stopped.")
