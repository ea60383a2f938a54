"""Secrets shown once and stored only as a SHA-256 hash with a visible prefix.

The secrets are 256-bit random tokens, so a fast hash is enough: no salt or slow KDF needed
for lookups by hash.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

API_KEY_PREFIX = "iaf_"
GATEWAY_TOKEN_PREFIX = "iafgw_"  # noqa: S105 (a public marker, not a secret)
VISIBLE_CHARS = 8
# last_used_at of keys and tokens is informative: rewriting a busy row on every request would
# serialise the requests on it.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewSecret:
    raw: str  # shown to the user once, never stored
    prefix: str
    hashed: str


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret(kind_prefix: str) -> NewSecret:
    raw = kind_prefix + secrets.token_urlsafe(32)
    return NewSecret(
        raw=raw, prefix=raw[: len(kind_prefix) + VISIBLE_CHARS], hashed=hash_secret(raw)
    )
