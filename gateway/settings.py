"""The gateway's settings, read from the environment of the LiteLLM proxy process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class GatewaySettings:
    portal_url: str
    gateway_token: str
    spool_dir: Path
    allow_cache_seconds: float
    refusal_cache_seconds: float
    stale_allow_seconds: float
    batch_size: int
    flush_seconds: float
    retry_max_seconds: float
    timeout_seconds: float

    @classmethod
    def from_env(cls) -> GatewaySettings:
        allow = _float("IAF_AUTH_CACHE_SECONDS", 5)
        return cls(
            portal_url=os.environ.get("IAF_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/"),
            gateway_token=os.environ.get("IAF_GATEWAY_TOKEN", ""),
            spool_dir=Path(os.environ.get("IAF_SPOOL_DIR", "var/gateway-spool")),
            allow_cache_seconds=allow,
            # A refusal is never remembered longer than an approval.
            refusal_cache_seconds=min(_float("IAF_AUTH_REFUSAL_CACHE_SECONDS", 2), allow),
            stale_allow_seconds=_float("IAF_AUTH_STALE_SECONDS", 900),
            batch_size=min(int(os.environ.get("IAF_USAGE_BATCH_SIZE", 1000)), 1000),
            flush_seconds=_float("IAF_USAGE_FLUSH_SECONDS", 1),
            retry_max_seconds=_float("IAF_USAGE_RETRY_MAX_SECONDS", 30),
            timeout_seconds=_float("IAF_PORTAL_TIMEOUT_SECONDS", 10),
        )
