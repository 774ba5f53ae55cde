"""Each parallel test worker (pytest-xdist) gets services of its own.

Loaded with `-p tests.worker_env` (pyproject's addopts) before pytest-django reads the settings,
so the settings see the changed environment. pytest-django already gives each worker its own
test database (`test_netcare_gw0`, ...); this gives each its own Redis database (the cache, the
Celery broker and the locks; tests clear it) and its own var directory. Worker gw0 keeps the
database of REDIS_URL, gw1 the one below it, and so on.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit


def _per_worker(environ: dict[str, str]) -> None:
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    index = int(worker[2:])
    url = urlsplit(environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    base = int(url.path.strip("/") or 0)
    if index > base:
        raise RuntimeError(f"REDIS_URL's database {base} leaves no Redis database for {worker}")
    environ["REDIS_URL"] = urlunsplit(url._replace(path=f"/{base - index}"))
    if environ.get("NETCARE_VAR_DIR"):
        environ["NETCARE_VAR_DIR"] = os.path.join(environ["NETCARE_VAR_DIR"], worker)


_per_worker(os.environ)
