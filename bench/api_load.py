"""Benchmark: NETcare under a clinic's load, served by gunicorn on 127.0.0.1.

On the 2,000-patient centre of the page benchmarks (bench/_seed.py; seeded when missing), a
navigator signed in; gunicorn (``--workers``, default 5) serves NETcare from this machine with
production settings. Then, in one run:

1. paced: 50 concurrent clients (``--clients``), each requesting the next endpoint in turn and
   pausing 1 s (``--pause``) between its requests, a clinic's load, for ``--duration`` seconds
   (the whole run is bounded to 60 s by default): p50/p95/p99 and the errors (status not 200,
   or no answer) of each endpoint; target p99 ≤ 250 ms and no error;
2. closed loop: the same clients without pausing for ``--closed`` seconds: the throughput, in
   requests per second and per CPU core of this machine.

Endpoints: the patient list and one patient, the course list, one cycle, the care-task list
(``/api/v1/``) and the caseload page (``/navigator/``). Ends with one JSON line per figure.
Run: `make bench` or `python -m bench.api_load [--clients 50] [--duration 45] [--closed 15]`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench._setup import bench_django, figure, percentile

BENCH_DB = "netcare_bench"
ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 250.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(db_url: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=db_url, DEBUG="0", ALLOWED_HOSTS="127.0.0.1",
               SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0", DATABASE_CONN_MAX_AGE="600",
               NETCARE_MFA_REQUIRED_ROLES="")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "netcare.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning",
         "--timeout", "120"], cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn did not start.")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status < 500:
                return proc
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    sys.exit("gunicorn did not answer within 60 s.")


def endpoints() -> list[tuple[str, str]]:
    """(name, path) of what the clients ask for, in turn."""
    from bench._seed import seed
    from prrt.models import Cycle

    centre, _ = seed(2000)
    cycle = (Cycle.objects.filter(course__centre=centre).select_related("course__patient")
             .order_by("pk").first())
    patient = cycle.course.patient
    return [("patients", "/api/v1/patients/"),
            ("patient", f"/api/v1/patients/{patient.external_id}/"),
            ("courses", "/api/v1/courses/"),
            ("cycle", f"/api/v1/cycles/{cycle.external_id}/"),
            ("care_tasks", "/api/v1/care-tasks/"),
            ("caseload", "/navigator/")]


def session_cookie() -> str:
    """A signed-in navigator's session (in the shared session store)."""
    from django.conf import settings
    from django.test import Client

    from bench._seed import seed

    _, navigator = seed(2000)
    client = Client()
    client.force_login(navigator)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def add(self, name: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.samples.setdefault(name, []).append(ms)
            self.errors[name] = self.errors.get(name, 0) + (not ok)

    @property
    def total(self) -> int:
        return sum(len(samples) for samples in self.samples.values())


def client_loop(port: int, cookie: str, paths, start: int, pause: float, until: float,
                results: Results) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie, "Accept": "application/json, text/html"}
    turn = start
    while time.monotonic() < until:
        name, path = paths[turn % len(paths)]
        turn += 1
        started = time.perf_counter()
        ok = False
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        results.add(name, (time.perf_counter() - started) * 1000, ok)
        if pause:
            time.sleep(max(0.0, min(pause, until - time.monotonic())))
    connection.close()


def warm_up(port: int, cookie: str, paths, workers: int) -> None:
    """Every worker imports, connects and renders each endpoint before the timing; any error
    here stops the benchmark (a wrong setup, not a figure)."""
    for _ in range(workers * 2):
        for name, path in paths:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                sys.exit(f"{name} ({path}) answers {response.status} before the load.")


def run(port: int, cookie: str, paths, *, clients: int, pause: float,
        seconds: float) -> Results:
    results = Results()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=client_loop, daemon=True,
                                args=(port, cookie, paths, i, pause, until, results))
               for i in range(clients)]
    for thread in threads:
        thread.start()
        if pause:
            time.sleep(pause / clients)  # spread the clients over the first pause
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between requests")
    parser.add_argument("--duration", type=float, default=45.0, help="paced run, seconds")
    parser.add_argument("--closed", type=float, default=15.0, help="closed loop, seconds")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    args = parser.parse_args()
    if args.duration + args.closed > 60:
        sys.exit("The load is bounded to 60 s: --duration + --closed must not exceed 60.")
    db_url = bench_django(BENCH_DB, ALLOWED_HOSTS="127.0.0.1,testserver")
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    paths = endpoints()
    cookie = session_cookie()
    port = _free_port()
    server = start_gunicorn(db_url, port, args.workers)
    try:
        warm_up(port, cookie, paths, args.workers)
        paced = run(port, cookie, paths, clients=args.clients, pause=args.pause,
                    seconds=args.duration)
        closed = run(port, cookie, paths, clients=args.clients, pause=0, seconds=args.closed)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    cores = os.cpu_count() or 1
    print(f"{args.clients} clients pausing {args.pause:g} s for {args.duration:g} s against "
          f"gunicorn ({args.workers} workers, {cores} cores): {paced.total} requests", flush=True)
    for name, _ in paths:
        samples = paced.samples.get(name, [])
        p99 = percentile(samples, 0.99)
        figure("api_paced", endpoint=name, clients=args.clients, requests=len(samples),
               p50_ms=percentile(samples, 0.50), p95_ms=percentile(samples, 0.95),
               p99_ms=p99, errors=paced.errors.get(name, 0), value_ms=p99,
               target=TARGET_P99_MS,
               met=bool(samples) and p99 <= TARGET_P99_MS and not paced.errors.get(name))
    rate = closed.total / args.closed
    figure("api_closed_loop", clients=args.clients, requests=closed.total,
           errors=sum(closed.errors.values()), requests_per_s=rate, cores=cores,
           requests_per_s_per_core=rate / cores,
           p99_ms=percentile([ms for s in closed.samples.values() for ms in s], 0.99))


if __name__ == "__main__":
    main()
