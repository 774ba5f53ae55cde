"""Sessions kept in the database and cached in Redis, that go on without Redis.

Django's ``cached_db`` engine reads a session from the cache and falls back to the database on a
miss, and already survives a failed read or a failed write after saving. Two of its steps still
raise when Redis does not answer: caching a session it has just read from the database, and
asking the cache whether a new session key is taken. Here both are quiet (the database is where
sessions live; a miss is the worst that happens), so signed-in pages keep working while Redis is
down. Deleting a session (signing out) still needs the cache: a cached copy left behind could
otherwise outlive the sign-out once Redis is back, so that answers 503 instead
(netcare.unavailable).
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger(__name__)


class _CacheOrMiss:
    """The session cache, where a read or a write that fails is a miss."""

    def __init__(self, cache) -> None:
        self._cache = cache

    def get(self, key, default=None):
        try:
            return self._cache.get(key, default)
        except Exception as exc:  # any cache failure: read the database instead
            logger.warning("Session cache unavailable (%s): reading the database",
                           type(exc).__name__)
            return default

    def set(self, key, value, timeout=None) -> None:
        try:
            self._cache.set(key, value, timeout)
        except Exception as exc:  # the database holds the session; the cache is only a copy
            logger.warning("Session cache unavailable (%s): not cached", type(exc).__name__)

    def __contains__(self, key) -> bool:
        try:
            return key in self._cache
        except Exception:  # the caller asks the database next
            return False

    def __getattr__(self, name):
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _CacheOrMiss(self._cache)
