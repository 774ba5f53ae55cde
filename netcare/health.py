"""Checks behind /healthz: the database and the Celery broker must both answer."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection

from netcare.celery import app


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not reachable"
        return type(exc).__name__
    return None


def check_broker() -> str | None:
    url = app.conf.broker_url or ""
    if url.startswith("filesystem://"):
        options = app.conf.broker_transport_options or {}
        folder = Path(options.get("data_folder_in", ""))
        return None if folder.is_dir() and _writable(folder) else "broker folder not writable"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any failure means "not reachable"
        return type(exc).__name__
    return None


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def status() -> dict[str, str]:
    results = {"database": check_database(), "broker": check_broker()}
    return {name: ("ok" if error is None else f"unavailable: {error}")
            for name, error in results.items()}

