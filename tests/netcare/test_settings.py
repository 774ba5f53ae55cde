"""Settings come from the environment; production refuses to start without a SECRET_KEY."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-8c2f1e9b7d6a5c4b3a2f1e0d",
    "ALLOWED_HOSTS": "netcare.example.org",
    "DATABASE_URL": "postgres://netcare@db.example.org:5432/netcare",
    "REDIS_URL": "redis://redis.example.org:6379/0",
}


def run_manage(*args, env_overrides, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    for key in ("DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "DATABASE_URL",
                "REDIS_URL", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(key, None)
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_production_refuses_a_missing_secret_key():
    result = run_manage("check", env_overrides={k: v for k, v in PRODUCTION.items()
                                                if k != "SECRET_KEY"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_check_deploy_is_clean_with_production_variables():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", env_overrides=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_run_defaults_to_sqlite_under_var(tmp_path):
    code = ("from django.conf import settings; import django; django.setup(); "
            "print(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'],"
            " settings.CELERY_BROKER_URL)")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DEBUG": "1", "NETCARE_VAR_DIR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "netcare.settings"})
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    engine, name, broker = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "netcare.sqlite3")
    assert broker == "filesystem://"


def test_this_suite_runs_on_postgresql_and_redis(settings):
    if os.environ.get("NETCARE_REQUIRE_SERVICES") != "1":
        return
    assert "postgresql" in settings.DATABASES["default"]["ENGINE"]
    assert settings.CELERY_BROKER_URL.startswith("redis://")
