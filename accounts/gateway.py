"""Gateway tokens: created by staff, shown once, stored only as a hash; revocable at once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .keys import GATEWAY_TOKEN_PREFIX, LAST_USED_RESOLUTION, hash_secret, new_secret
from .models import GatewayToken


@transaction.atomic
def gateway_token_create(*, name: str) -> tuple[GatewayToken, str]:
    """A new token; the raw secret is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValueError("Le nom du jeton est obligatoire.")
    secret = new_secret(GATEWAY_TOKEN_PREFIX)
    token = GatewayToken.objects.create(name=name, prefix=secret.prefix, token_hash=secret.hashed)
    return token, secret.raw


def gateway_token_revoke(*, token: GatewayToken) -> GatewayToken:
    if token.revoked_at is None:
        GatewayToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token


def gateway_token_authenticate(*, raw: str) -> GatewayToken | None:
    """The active token for this secret, or None."""
    if not raw.startswith(GATEWAY_TOKEN_PREFIX):
        return None
    token = GatewayToken.objects.filter(
        token_hash=hash_secret(raw), revoked_at__isnull=True
    ).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        GatewayToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
