"""Throwaway PostgreSQL and Redis servers for the fault tests, which stop and restart them.

The suite's own PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are shared by everyone
running tests on the machine and are never stopped. A fault test starts its own: a PostgreSQL
cluster made with Debian's binaries in a temporary folder, on a free port (run as the `postgres`
user when the tests run as root, since PostgreSQL refuses to run as root), and a `redis-server`
on a free port with no persistence, as NETcare's Redis runs (`--save "" --appendonly no`).

:func:`copy_database` copies the test database, with what a test committed to it, into the
throwaway cluster (pg_dump | pg_restore), so a test builds its data with the usual fixtures and
then runs NETcare's processes against the copy.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, open_: bool = True, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                if open_:
                    return
        except OSError:
            if not open_:
                return
        time.sleep(0.05)
    raise AssertionError(f"port {port} still {'closed' if open_ else 'open'} after {timeout} s")


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]))
    if not found:
        pytest.fail("The fault tests need PostgreSQL's server binaries "
                    "(/usr/lib/postgresql/*/bin/initdb, Debian's postgresql package).")
    return Path(found[-1]).parent


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own: `stop`, `start`, `restart` at will."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="netcare-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("Running as root without a `postgres` user to run PostgreSQL as.")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        self.start()

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run([*self.as_user, str(self.bin / program), *args],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"{program} failed: {result.stdout}{result.stderr}")

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.root} -c listen_addresses={LOCALHOST} -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log),
                  "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session and rolls their transactions back; `immediate` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log),
                  "-m", "fast", "-w", "restart")

    def url(self, name: str) -> str:
        return f"postgres://postgres@{LOCALHOST}:{self.port}/{name}"

    def destroy(self) -> None:
        with contextlib.suppress(AssertionError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class ThrowawayRedis:
    """A redis-server of its own, without persistence: stopping it loses everything it held."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="netcare-faults-redis-"))
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", LOCALHOST, "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--logfile",
             str(self.root / "redis.log")])
        wait_for_port(self.port)

    def stop(self) -> None:
        """Killed outright, as a crash: what it held (queued messages, the cache) is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        wait_for_port(self.port, open_=False)

    def url(self, db: int = 0) -> str:
        return f"redis://{LOCALHOST}:{self.port}/{db}"

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_servers() -> Iterator[tuple[ThrowawayPostgres, ThrowawayRedis]]:
    """A throwaway PostgreSQL and Redis, removed afterwards (for a module-scoped fixture)."""
    postgres = ThrowawayPostgres()
    try:
        redis = ThrowawayRedis()
    except BaseException:
        postgres.destroy()
        raise
    try:
        yield postgres, redis
    finally:
        postgres.destroy()
        redis.destroy()


def copy_database(*, source_url: str, server: ThrowawayPostgres, name: str) -> str:
    """A new database `name` on `server` holding everything committed in `source_url`; its URL."""
    createdb = subprocess.run(["createdb", "-h", LOCALHOST, "-p", str(server.port), "-U",
                               "postgres", name], capture_output=True, text=True, timeout=60)
    assert createdb.returncode == 0, createdb.stderr
    dump = subprocess.Popen(["pg_dump", "--format=custom", f"--dbname={libpq_url(source_url)}"],
                            stdout=subprocess.PIPE)
    restore = subprocess.run(["pg_restore", "--exit-on-error", "--no-owner",
                              f"--dbname={libpq_url(server.url(name))}"],
                             stdin=dump.stdout, capture_output=True, text=True, timeout=120)
    dump.stdout.close()
    assert dump.wait(timeout=60) == 0
    assert restore.returncode == 0, restore.stderr
    return server.url(name)


def libpq_url(url: str) -> str:
    """A DATABASE_URL as libpq reads it (it knows postgresql:// and postgres:// only)."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme != "postgres" else url


def session_database_url() -> str:
    """The URL of the database this test session runs on (pytest-django's test database)."""
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
