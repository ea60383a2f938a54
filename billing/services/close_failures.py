"""Accounts a monthly close could not close: logged, recorded for staff (« Clôtures en
échec »), resolved by a later run that closes them (issue 9 §3)."""

from __future__ import annotations

import logging

from django.db.models import F
from django.utils import timezone

from ..models import BillingPeriod, CloseFailure
from ..periods import Month

logger = logging.getLogger("billing.services.close")


def close_error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}".strip()[:2000]


def close_failure_record(*, account_id: int, month: Month, error: Exception) -> None:
    now = timezone.now()
    text = close_error_text(error)
    logger.error(
        "Clôture %s : le compte %d n'a pas pu être clôturé (%s)",
        month,
        account_id,
        text,
        exc_info=error,
        extra={
            "event": "close.account_failed",
            "month": str(month),
            "account_id": account_id,
            "error": text,
        },
    )
    failure, created = CloseFailure.objects.get_or_create(
        account_id=account_id,
        month=month.first_day,
        defaults={"error": text, "first_failed_at": now, "last_failed_at": now},
    )
    if not created:
        CloseFailure.objects.filter(pk=failure.pk).update(
            error=text, last_failed_at=now, attempts=F("attempts") + 1, resolved_at=None
        )


def close_failures_resolve(*, month: Month, failed: list[int]) -> None:
    """Failures of earlier runs whose account this run closed are resolved."""
    CloseFailure.objects.filter(
        month=month.first_day,
        resolved_at__isnull=True,
        account__periods__month=month.first_day,
        account__periods__status=BillingPeriod.Status.CLOSED,
    ).exclude(account_id__in=failed).update(resolved_at=timezone.now())
