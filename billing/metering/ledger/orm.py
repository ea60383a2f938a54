"""The portable store: the ORM and standard SQL, on any database Django supports."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from accounts.models import ApiKey
from catalog.models import ModelPrice

from ...models import BillingPeriod, Subscription, UsageDaily, UsageEvent
from ...periods import Month
from ..rollups import SUM_COLUMNS, EventAmounts, RollupKey, RollupRow, Rollups
from ..rows import KEY_SOURCES, PRICE_SOURCES, EventRow, Key, PaygNow, PeriodTotals, PriceRow
from .base import Ledger, Recorded, insert_rows, period_months

_KEY_LOOKUPS = [orm for orm, _ in KEY_SOURCES.values()]
_PRICE_LOOKUPS = [orm for orm, _ in PRICE_SOURCES.values()]
_KEY_FIELDS = ("account_id", "day", "model_id", "api_key_id")
# Rows per bulk statement (SQLite's bound variables) and events read per round trip.
_BULK = 500
_READ_CHUNK = 2000


class OrmLedger(Ledger):
    def keys(self, hashes: Collection[str]) -> list[Key]:
        rows = ApiKey.objects.filter(key_hash__in=list(hashes)).values_list(*_KEY_LOOKUPS)
        return [Key.from_row(row) for row in rows]

    def prices(self, slugs: Collection[str]) -> list[PriceRow]:
        rows = ModelPrice.objects.filter(model__slug__in=list(slugs)).values_list(*_PRICE_LOOKUPS)
        return [PriceRow._make(row) for row in rows]

    def lock_periods(
        self, wanted: Collection[tuple[int, Month]]
    ) -> tuple[list[BillingPeriod], PaygNow]:
        account_ids, months = period_months(wanted)
        periods = list(
            BillingPeriod.objects.select_for_update(no_key=True)
            .filter(account_id__in=account_ids, month__in=months)
            .order_by("pk")
        )
        payg = Subscription.objects.filter(account_id__in=account_ids).values_list(
            "account_id", "pay_as_you_go", "pay_as_you_go_changed_at"
        )
        return periods, {account_id: (enabled, at) for account_id, enabled, at in payg}

    def recorded(self, pairs: Collection[tuple[int, str]]) -> Recorded:
        pairs = set(pairs)
        found = UsageEvent.objects.filter(
            account_id__in={account for account, _ in pairs},
            idempotency_key__in={key for _, key in pairs},
        ).values_list("account_id", "idempotency_key", "fingerprint", "cost")
        return {
            (account_id, key): (fp, cost)
            for account_id, key, fp, cost in found
            if (account_id, key) in pairs
        }

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        insert_rows(rows)

    def update_periods(self, totals: Sequence[PeriodTotals]) -> None:
        for period in totals:
            BillingPeriod.objects.filter(pk=period.id).update(
                consumed=period.consumed, overage=period.overage, written_off=period.written_off
            )

    def upsert_rollups(self, rollups: Sequence[RollupRow]) -> None:
        """Read the groups' rows, add in Python (exact Decimals), write back: the periods'
        locks (SQLite: its one writer) keep anyone else from writing them meanwhile."""
        if not rollups:
            return
        stored = {
            RollupKey(*(getattr(daily, field) for field in _KEY_FIELDS)): daily
            for daily in UsageDaily.objects.filter(
                account_id__in={r.account_id for r in rollups},
                day__in={r.day for r in rollups},
                model_id__in={r.model_id for r in rollups},
                api_key_id__in={r.api_key_id for r in rollups},
            )
        }
        new, changed = [], []
        for rollup in rollups:
            daily = stored.get(RollupKey(*rollup[: len(_KEY_FIELDS)]))
            if daily is None:
                new.append(UsageDaily(**rollup._asdict()))
                continue
            for column in SUM_COLUMNS:
                setattr(daily, column, getattr(daily, column) + getattr(rollup, column))
            changed.append(daily)
        UsageDaily.objects.bulk_create(new, batch_size=_BULK)
        UsageDaily.objects.bulk_update(changed, SUM_COLUMNS, batch_size=_BULK)

    def rebuild_rollups(self, *, account_ids: Collection[int], month: Month) -> int:
        """Stream the events (flat memory: only the groups are held) and sum them in Python."""
        account_ids = list(account_ids)
        UsageDaily.objects.filter(
            account_id__in=account_ids, day__gte=month.first_day, day__lte=month.last_day
        ).delete()
        rollups = Rollups()
        events = (
            UsageEvent.objects.filter(
                account_id__in=account_ids,
                occurred_at__gte=month.starts_at,
                occurred_at__lt=month.ends_at,
            )
            .order_by()
            .values_list(*EventAmounts._fields)
        )
        for values in events.iterator(chunk_size=_READ_CHUNK):
            rollups.add(EventAmounts._make(values))
        rows = rollups.rows()
        UsageDaily.objects.bulk_create(
            [UsageDaily(**row._asdict()) for row in rows], batch_size=_BULK
        )
        return len(rows)
