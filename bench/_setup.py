"""What every benchmark does first: use a PostgreSQL database of its own, set up Django and
migrate. (Not a benchmark itself: `python -m bench` skips modules starting with "_".)"""

from __future__ import annotations

import os
import sys


def bench_django(database: str, **environ: str) -> str:
    """Point Django at `database` (created when missing) on the server of DATABASE_URL, with
    `environ` set, then set up Django and migrate. Returns the database URL."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/netcare")
    if not base.startswith("postgres"):
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
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
