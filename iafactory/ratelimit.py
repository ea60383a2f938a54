"""Fixed-window rate limits on atomic cache counters (INCR in Redis when it is configured).

Log-in, sign-up and password reset are limited by django-allauth (ACCOUNT_RATE_LIMITS, with a
cache lock); this module limits the JSON API, per gateway token, customer key or client IP,
and the staff log-in of the Django admin, and failed API authentications per client IP.
While the cache is unreachable the limits fail open (iafactory/cache.py answers as an empty
cache): metering and the pages never depend on Redis.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

_RATE_RE = re.compile(r"^(\d+)/(s|m|h|d)$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int

    @classmethod
    def parse(cls, value: str) -> Rate | None:
        """ "120/m" → 120 per minute; "off" or "" → no limit."""
        value = (value or "").strip().lower()
        if value in {"", "off", "none"}:
            return None
        match = _RATE_RE.match(value)
        if not match:
            raise ValueError(f"Invalid rate {value!r}: expected e.g. 120/m")
        return cls(int(match.group(1)), _PERIODS[match.group(2)])


def rate_hit(key: str, rate: Rate, now: float | None = None) -> tuple[bool, int]:
    """Count one hit on `key`; return (allowed, seconds until the window resets)."""
    now = time.time() if now is None else now
    window = int(now // rate.period)
    cache_key = f"rl:{key}:{window}"
    cache.add(cache_key, 0, timeout=rate.period + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window expired between add and incr
        cache.add(cache_key, 0, timeout=rate.period + 1)
        count = cache.incr(cache_key)
    retry_after = max(1, math.ceil((window + 1) * rate.period - now))
    return count <= rate.limit, retry_after


def rate_peek(key: str, rate: Rate, now: float | None = None) -> tuple[bool, int]:
    """Whether `key` is still under `rate` in this window, without counting a hit."""
    now = time.time() if now is None else now
    window = int(now // rate.period)
    count = cache.get(f"rl:{key}:{window}") or 0
    retry_after = max(1, math.ceil((window + 1) * rate.period - now))
    return count < rate.limit, retry_after


def auth_failures_check(request) -> None:
    """Refuse (429) a client IP that failed too many API authentications, before any lookup."""
    rate = Rate.parse(settings.API_RATE_LIMITS.get("auth_failures", ""))
    if rate is None:
        return
    allowed, retry_after = rate_peek(f"authfail:ip:{_client_ip(request)}", rate)
    if not allowed:
        raise Throttled(
            wait=retry_after,
            detail=_("Trop d'échecs d'authentification depuis cette adresse."),
        )


def auth_failure_record(request) -> None:
    rate = Rate.parse(settings.API_RATE_LIMITS.get("auth_failures", ""))
    if rate is not None:
        rate_hit(f"authfail:ip:{_client_ip(request)}", rate)


def _client_ip(request) -> str:
    # The client behind the proxy (NUM_PROXIES), as the API throttle sees it.
    return BaseThrottle().get_ident(request) or "unknown"


def api_scope(path: str) -> str:
    if path.startswith("/api/v1/gateway/"):
        return "gateway"
    if path.startswith(("/api/v1/account/", "/api/v1/usage/")):
        return "customer"
    return "public"


def limit_posts(view, *, scope: str, rate: Rate):
    """Wrap a form view: POSTs beyond `rate` per client IP get the 429 page with Retry-After."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            allowed, retry_after = rate_hit(f"{scope}:ip:{_client_ip(request)}", rate)
            if not allowed:
                from .errors import too_many_requests

                return too_many_requests(request, retry_after=retry_after)
        return view(request, *args, **kwargs)

    return wrapper


class ApiRateThrottle(BaseThrottle):
    """Per-scope limits from settings.API_RATE_LIMITS; answers 429 with Retry-After."""

    def allow_request(self, request, view) -> bool:
        scope = api_scope(request.path)
        rate = Rate.parse(settings.API_RATE_LIMITS.get(scope, ""))
        if rate is None:
            return True
        allowed, self._wait = rate_hit(f"{scope}:{self._identity(request)}", rate)
        return allowed

    def _identity(self, request) -> str:
        # The authenticated key or token (never a header anyone can vary), else the client IP.
        credential = getattr(request, "auth", None)
        if credential is not None and getattr(credential, "pk", None) is not None:
            return f"{type(credential).__name__}:{credential.pk}"
        return "ip:" + (self.get_ident(request) or "unknown")

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
