"""Failed-login throttling, kept in the shared cache so every web process sees the same counts."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{kind}:{digest}"


def _keys(username: str, ip_address: str | None) -> list[tuple[str, int]]:
    limit = settings.LOGIN_FAILURE_LIMIT
    keys = [(_key("user", username), limit)]
    if ip_address:
        keys.append((_key("ip", ip_address), limit * 10))
    return keys


def is_locked_out(username: str, ip_address: str | None) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(username, ip_address))


def register_failure(username: str, ip_address: str | None) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key, _limit in _keys(username, ip_address):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def clear_failures(username: str) -> None:
    cache.delete(_key("user", username))
