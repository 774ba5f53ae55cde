"""What every benchmark does first: use a PostgreSQL database of its own, set up Django and
migrate; and how every benchmark reports: one JSON line per figure.
(Not a benchmark itself: `python -m bench` skips modules starting with "_".)"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time


def bench_database(database: str, base: str) -> str:
    """The database a benchmark uses: `database`, unless DATABASE_URL already names a benchmark
    database (its name contains "bench"), which is then used (with the part of `database` after
    "netcare_bench" appended), so that several people can run the benchmarks on one server."""
    name = base.rsplit("/", 1)[1].split("?", 1)[0]
    if "bench" not in name:
        return database
    return name + database.removeprefix("netcare_bench")


def bench_django(database: str, **environ: str) -> str:
    """Point Django at `database` (created when missing; see :func:`bench_database`) on the
    server of DATABASE_URL, with `environ` set, then set up Django and migrate. Returns the
    database URL."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/netcare")
    if not base.startswith("postgres"):
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    database = bench_database(database, base)
    server = base.rsplit("/", 1)[0]
    url = f"{server}/{database}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "netcare.settings")
    os.environ.setdefault("SECRET_KEY", "netcare-benchmark-only-secret-key-0123456789abcdef")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("SECURE_COOKIES", "0")
    os.environ.update(environ)
    import psycopg2

    admin = psycopg2.connect(f"{server}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{database}"')
    admin.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return url


def timed(call, repeat: int, warm: int = 2) -> list[float]:
    """Milliseconds of `repeat` calls of `call`, after `warm` calls that are not counted."""
    for _ in range(warm):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.95 for p95) of `samples`."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def figure(bench: str, **values) -> dict:
    """Print one figure as one JSON line (floats rounded to 0.1 ms, 0.01 for ratios) and return
    it. A figure with a target says whether it is met: ``ratio`` (or ``value_ms``) ≤ target."""
    line = {"bench": bench}
    for key, value in values.items():
        if isinstance(value, float):
            value = round(value, 2 if key in ("ratio", "target") else 1)
        line[key] = value
    if "target" in line and "met" not in line:
        measured = line.get("ratio", line.get("value_ms"))
        line["met"] = measured is not None and measured <= line["target"]
    print(json.dumps(line), flush=True)
    return line
