"""The audit trail: services record who did what; staff read it in the admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from .models import Account, AuditEvent, User

SYSTEM = "système"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def audit_record(
    *,
    action: AuditEvent.Action,
    target: str,
    actor: User | None = None,
    account: Account | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry; call it inside the service's transaction so it lands with the change."""
    authenticated = actor is not None and getattr(actor, "pk", None) is not None
    return AuditEvent.objects.create(
        at=timezone.now(),
        actor=actor if authenticated else None,
        actor_label=actor.email if authenticated else SYSTEM,
        action=action,
        account=account,
        target=target[:200],
        details=_plain(details or {}),
    )


def form_changes(form) -> dict[str, dict[str, Any]]:
    """{field: {"avant": …, "après": …}} for the fields an admin form changed."""
    return {
        name: {"avant": form.initial.get(name), "après": form.cleaned_data.get(name)}
        for name in form.changed_data
    }
