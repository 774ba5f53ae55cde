"""`make run`'s embedded mode: SQLite and the filesystem broker, no server needed.

Starts the real run command (web, worker, beat) in a fresh var/ folder, signs every demo user in
through HTTP, checks a task crosses processes through the filesystem broker, and stops it with
Ctrl-C (SIGINT to the whole process group, as a terminal sends it), expecting all three
processes to end without a traceback.
"""

import http.cookiejar
import importlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from netcare.management.commands.run_embedded import child_env

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "NETCARE_REQUIRE_SERVICES")}
    env.update({"DEBUG": "1", "NETCARE_VAR_DIR": str(var_dir)})
    return env


def sign_in(base: str, username: str, opener_out: list | None = None) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": "netcare-demo",
                                   "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=data,
                                     headers={"Referer": f"{base}/accounts/login/"})
    response = opener.open(request, timeout=10)
    if opener_out is not None:
        opener_out.append(opener)
    return response.geturl()


def test_links_in_emails_point_at_the_address_served():
    assert child_env("127.0.0.1:8001", {})["NETCARE_BASE_URL"] == "http://127.0.0.1:8001"
    assert child_env("8002", {"PATH": "/bin"}) == {
        "PATH": "/bin", "NETCARE_BASE_URL": "http://127.0.0.1:8002"}
    configured = {"NETCARE_BASE_URL": "https://netcare.example.org"}
    assert child_env("127.0.0.1:8001", configured) == configured


@pytest.mark.integration
def test_embedded_run_serves_every_demo_user_and_stops_on_ctrl_c(tmp_path):
    env = embedded_env(tmp_path)
    for args in (["migrate", "--noinput"], ["seed_demo"]):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "netcare.sqlite3").exists()
    read_model = importlib.import_module("coordinators.migrations.0009_caseload_read_model")
    with sqlite3.connect(tmp_path / "netcare.sqlite3") as database:
        triggers = {row[0] for row in database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    expected = {statement.rsplit(" ", 1)[1] for statement in read_model.SQLITE_DROP}
    assert len(expected) == 11 and expected <= triggers

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Output goes to a file: a pipe nobody reads fills up and stalls the processes.
    log = tmp_path / "run.log"
    log_file = log.open("w")
    proc = subprocess.Popen([sys.executable, "manage.py", "run_embedded", "--addr",
                             f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log_file,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2) as response:
                    assert b"Sign in to NETcare" in response.read()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the embedded web server did not answer within 60 s")
                time.sleep(0.5)

        homes = {"navigator": "/navigator/", "specialist": "/specialist/",
                 "oncologist": "/oncologist/", "oncologist2": "/oncologist/",
                 "admin": "/admin/"}
        for username, home in homes.items():
            assert sign_in(base, username) == base + home
        # The caseload's reads (written in SQL) on SQLite: the demo's groups, and a search.
        navigator = []
        sign_in(base, "navigator", navigator)
        page = navigator[0].open(f"{base}/navigator/", timeout=10).read().decode()
        assert page.count('class="card patient-group"') >= 3
        overdue = int(re.search(r'id="count-overdue">(\d+)<', page).group(1))
        assert overdue >= 1
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        search = urllib.request.Request(
            f"{base}/navigator/", headers={"Referer": f"{base}/navigator/"},
            data=urllib.parse.urlencode({"q": "zzz-nobody", "csrfmiddlewaretoken": token}).encode())
        found = navigator[0].open(search, timeout=10).read().decode()
        assert "Nothing is overdue, due, snoozed or blocked for these filters." in found
        # A task marked done leaves the caseload at once (SQLite's triggers mark the patient).
        first = re.search(r'<li class="task task-overdue" id="task-([0-9a-f-]+)"', page).group(1)
        done = urllib.request.Request(
            f"{base}/caseload/tasks/{first}/done/", headers={"Referer": f"{base}/navigator/"},
            data=urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode())
        navigator[0].open(done, timeout=10).read()
        after = navigator[0].open(f"{base}/navigator/", timeout=10).read().decode()
        assert f'id="task-{first}"' not in after
        assert int(re.search(r'id="count-overdue">(\d+)<', after).group(1)) == overdue - 1

        # A task sent from this process reaches the embedded worker through the filesystem.
        code = ("import django; django.setup(); from netcare.tasks import heartbeat; "
                "heartbeat.delay()")
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60,
                       env={**env, "DJANGO_SETTINGS_MODULE": "netcare.settings"})
        queue = tmp_path / "broker" / "queue"
        deadline = time.monotonic() + 60
        while any(queue.iterdir()):
            if time.monotonic() > deadline:
                pytest.fail("the embedded worker did not consume the queued task")
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("the embedded run did not stop within 30 s of Ctrl-C")
        finally:
            log_file.close()
    output = log.read_text()
    assert proc.returncode is not None
    assert "NETcare stopped." in output
    assert f"http://127.0.0.1:{port}" in output
    # Only the command's own SIGTERM reaches web, worker and beat: nobody prints a traceback.
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
    assert "Ctrl+C again" not in output  # what the worker says when the SIGINT reaches it
