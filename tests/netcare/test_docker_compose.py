"""docker-compose.yml is valid, has NETcare's five services and insists on a SECRET_KEY."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose(*args, secret_key=None):
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed (make test installs Debian's package).")
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    if secret_key:
        env["SECRET_KEY"] = secret_key
    return subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)


def test_compose_file_is_valid_with_its_five_services():
    result = compose("config", secret_key="compose-check-key")
    assert result.returncode == 0, result.stderr
    services = compose("config", "--services", secret_key="compose-check-key").stdout.split()
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert "DATABASE_URL: postgres://" in result.stdout
    assert "REDIS_URL: redis://redis:6379/0" in result.stdout


def test_compose_refuses_to_start_without_a_secret_key():
    result = compose("config")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
