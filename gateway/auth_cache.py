"""Remembers the portal's answers per key for a few seconds, so it is not asked on every call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    allowed: bool
    reason: str | None
    message: str | None
    answered_at: float


class AuthCache:
    def __init__(
        self,
        *,
        allow_seconds: float,
        refusal_seconds: float,
        stale_allow_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.allow_seconds = allow_seconds
        self.refusal_seconds = min(refusal_seconds, allow_seconds)
        self.stale_allow_seconds = stale_allow_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}

    def fresh(self, key: str) -> _Entry | None:
        """The answer still valid for `key`, if any."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        ttl = self.allow_seconds if entry.allowed else self.refusal_seconds
        return entry if self.clock() - entry.answered_at < ttl else None

    def stale_allowed(self, key: str) -> bool:
        """While the portal is away, a key allowed recently enough is still served."""
        entry = self._entries.get(key)
        return (
            entry is not None
            and entry.allowed
            and self.clock() - entry.answered_at < self.stale_allow_seconds
        )

    def store(self, key: str, *, allowed: bool, reason: str | None, message: str | None) -> None:
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self._entries.pop(next(iter(self._entries)))
        # A refusal replaces the approval, so no stale approval outlives it.
        self._entries[key] = _Entry(allowed, reason, message, self.clock())
