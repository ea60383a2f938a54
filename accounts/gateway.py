"""Gateway tokens: created by staff, shown once, stored only as a hash; revocable at once."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction
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


_TOKEN_FIELDS = tuple(field.attname for field in GatewayToken._meta.concrete_fields)
_ACTIVE_TOKEN = (
    f"SELECT {', '.join(f.column for f in GatewayToken._meta.concrete_fields)} "  # noqa: S608
    f"FROM {GatewayToken._meta.db_table} "
    "WHERE token_hash = %s AND revoked_at IS NULL"
)


def _aware(value):
    # SQLite's cursor gives datetimes naive (stored in UTC); PostgreSQL's are aware already.
    if isinstance(value, datetime) and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


def gateway_token_authenticate(*, raw: str) -> GatewayToken | None:
    """The active token for this secret, or None."""
    if not raw.startswith(GATEWAY_TOKEN_PREFIX):
        return None
    # Plain SQL: every gateway call starts here, and compiling the ORM query cost more than
    # running it (issue 10). token_hash is unique: one row at most.
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_TOKEN, [hash_secret(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    token = GatewayToken.from_db(connection.alias, _TOKEN_FIELDS, [_aware(v) for v in row])
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        GatewayToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
