"""A Redis cache that fails open: a dead or hung Redis degrades caching, never a request.

Money lives in PostgreSQL; the cache only holds rate-limit counters, allauth's rate-limit
history and the public catalog snapshot. While Redis is unreachable every operation answers
as an empty cache that accepts writes (get → default, add → True, incr → delta), so rate
limits fail open and cached pages are rebuilt from the database. After a failure the process
stops calling Redis for `RETRY_SECONDS` (a hung Redis costs one short socket timeout per
window, not one per call), and logs one warning per minute, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WARNING_INTERVAL = 60.0

_recovery_hooks: list[Callable[[], None]] = []


def on_recovery(hook: Callable[[], None]) -> None:
    """Run `hook` when a process reaches Redis again: writes made during the outage were lost."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)


class _Outage:
    """Per process and per Redis location (Django gives each thread its own cache object)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failing = False
        self.retry_at = 0.0
        self.warned_at: float | None = None


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache; errors from Redis become the answers of an empty cache."""

    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_seconds = float(options.pop("RETRY_SECONDS", 5))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._outage = _outage_for(str(server))

    def _call(self, operation: str, fallback, method, *args, **kwargs):
        outage = self._outage
        if outage.failing and time.monotonic() < outage.retry_at:
            return fallback
        try:
            if outage.failing:
                # Back before the operation: the recovery hooks run before any stale read.
                self._cache.get_client(write=True).ping()
                self._recovered()
            return method(*args, **kwargs)
        except RedisError as exc:
            self._failed(operation, exc)
            return fallback

    def _failed(self, operation: str, exc: Exception) -> None:
        outage = self._outage
        now = time.monotonic()
        with outage.lock:
            outage.failing = True
            outage.retry_at = now + self.retry_seconds
            warn = outage.warned_at is None or now - outage.warned_at >= WARNING_INTERVAL
            if warn:
                outage.warned_at = now
        if warn:
            logger.warning(
                "Cache Redis injoignable (%s: %s) : limites de débit ouvertes, "
                "pages servies depuis la base.",
                operation,
                type(exc).__name__,
            )

    def _recovered(self) -> None:
        with self._outage.lock:
            if not self._outage.failing:
                return
            self._outage.failing = False
            self._outage.warned_at = None
        logger.info("Cache Redis de nouveau joignable.")
        for hook in list(_recovery_hooks):
            hook()

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", True, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, super().has_key, key, version)

    def incr(self, key, delta=1, version=None):
        # ValueError (no such key) is the normal answer of a reachable Redis: it propagates.
        return self._call("incr", delta, super().incr, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, super().delete_many, keys, version)

    def clear(self):
        return self._call("clear", False, super().clear)
