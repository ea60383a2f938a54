"""Repairs of the daily usage rollups: rebuilt from the events, for an account or a month.

The ledger maintains UsageDaily with every batch; this is for repairs and checks. Each (chunk of
accounts, month) is one short transaction holding the periods' locks, the same locks the ledger
takes, so no batch of those accounts and month lands between the delete and the sums.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from ..metering.ledger import Ledger, ledger_for
from ..models import BillingPeriod, UsageDaily, UsageEvent
from ..periods import Month
from .archive import retention_cutoff

DEFAULT_CHUNK_SIZE = 200


@dataclass
class RebuildResult:
    months: int = 0
    accounts: int = 0
    rows: int = 0

    def __str__(self) -> str:
        return (
            f"Agrégats reconstruits : {self.rows} ligne(s) journalière(s), "
            f"{self.accounts} période(s) de compte, {self.months} mois."
        )


def usage_rollups_rebuild(
    *,
    account_id: int | None = None,
    month: Month | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    ledger: Ledger | None = None,
) -> RebuildResult:
    """Rebuild the rollups of one account and/or one month (default: every account, every
    month that has a period), from the events. Months past the events' retention are left
    alone: their events may be archived, their rollups are all that is left."""
    ledger = ledger or ledger_for()
    periods = BillingPeriod.objects.all()
    if account_id is not None:
        periods = periods.filter(account_id=account_id)
    if month is not None:
        periods = periods.filter(month=month.first_day)
    if settings.USAGE_EVENTS_RETENTION_MONTHS:
        cutoff = retention_cutoff(months=settings.USAGE_EVENTS_RETENTION_MONTHS)
        periods = periods.filter(month__gte=cutoff.first_day)
    result = RebuildResult()
    for first_day in periods.order_by("month").values_list("month", flat=True).distinct():
        result.months += 1
        of_month = periods.filter(month=first_day)
        for account_ids in _chunks(of_month, chunk_size):
            result.accounts += len(account_ids)
            result.rows += _rebuild_chunk(
                account_ids=account_ids, month=Month.of(first_day), ledger=ledger
            )
    return result


@transaction.atomic
def _rebuild_chunk(*, account_ids: list[int], month: Month, ledger: Ledger) -> int:
    list(
        BillingPeriod.objects.select_for_update(no_key=True)
        .filter(account_id__in=account_ids, month=month.first_day)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    account_ids = _with_events_or_without_rollups(account_ids=account_ids, month=month)
    return ledger.rebuild_rollups(account_ids=account_ids, month=month) if account_ids else 0


def _with_events_or_without_rollups(*, account_ids: list[int], month: Month) -> list[int]:
    """The accounts whose rollups of `month` can be rebuilt: an account with rollups but no
    event left that month had its events archived (usage_events_archive, whatever the
    retention setting said): its rollups are all that is left of its usage, never erased."""
    with_events = set(
        UsageEvent.objects.filter(
            account_id__in=account_ids,
            occurred_at__gte=month.starts_at,
            occurred_at__lt=month.ends_at,
        )
        .values_list("account_id", flat=True)
        .distinct()
    )
    with_rollups = set(
        UsageDaily.objects.filter(
            account_id__in=account_ids, day__gte=month.first_day, day__lte=month.last_day
        )
        .values_list("account_id", flat=True)
        .distinct()
    )
    return [pk for pk in account_ids if pk in with_events or pk not in with_rollups]


def _chunks(periods, chunk_size: int) -> Iterator[list[int]]:
    """The periods' account ids in order, a chunk at a time (memory stays flat)."""
    last = 0
    while True:
        ids = list(
            periods.filter(account_id__gt=last)
            .order_by("account_id")
            .values_list("account_id", flat=True)[:chunk_size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]
