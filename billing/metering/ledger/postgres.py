"""The PostgreSQL store: plain SQL on the hot path (compiling the equivalent ORM queries costs
three times as long as running them), COPY for large inserts, arrays bound as one parameter."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from django.db import connection

from ...models import BillingPeriod
from ...periods import BILLING_TZ, Month
from ..rollups import ROLLUP_COLUMNS, SUM_COLUMNS, RollupRow
from ..rows import KEY_SOURCES, PRICE_SOURCES, EventRow, Key, PaygNow, PeriodTotals, PriceRow
from .base import (
    Ledger,
    Recorded,
    columns,
    insert_params,
    insert_rows,
    new_events_sql,
    period_months,
    table,
)

# From this many rows, COPY beats a multi-row INSERT (it costs two more round trips).
COPY_MIN = 50

_PERIOD_FIELDS = (
    "id",
    "account_id",
    "month",
    "plan_id",
    "included_credits",
    "consumed",
    "overage",
    "written_off",
    "status",
)
_KEYS = f"""
    SELECT {", ".join(sql for _, sql in KEY_SOURCES.values())}
    FROM accounts_apikey k LEFT JOIN billing_subscription s ON s.account_id = k.account_id
    WHERE k.key_hash = ANY(%s)
"""  # noqa: S608 (constant column names)
_PRICES = f"""
    SELECT {", ".join(sql for _, sql in PRICE_SOURCES.values())}
    FROM catalog_modelprice p JOIN catalog_aimodel m ON m.id = p.model_id
    WHERE m.slug = ANY(%s)
"""  # noqa: S608 (constant column names)
# The subscriptions' pay-as-you-go switch comes along, read under the same locks.
_LOCK_PERIODS = f"""
    SELECT {", ".join("p." + field for field in _PERIOD_FIELDS)},
           s.pay_as_you_go, s.pay_as_you_go_changed_at
    FROM billing_billingperiod p
    LEFT JOIN billing_subscription s ON s.account_id = p.account_id
    WHERE p.account_id = ANY(%s) AND p.month = ANY(%s)
    ORDER BY p.id FOR NO KEY UPDATE OF p
"""  # noqa: S608 (constant column names)
# Exact (account, key) pairs as two arrays: one bound parameter each, not 2 000.
_RECORDED = """
    SELECT account_id, idempotency_key, fingerprint, cost FROM billing_usageevent
    WHERE (account_id, idempotency_key) IN (SELECT * FROM unnest(%s::bigint[], %s::varchar[]))
"""
_UPDATE_PERIODS = """
    UPDATE billing_billingperiod AS p
    SET consumed = v.consumed, overage = v.overage, written_off = v.written_off
    FROM (SELECT * FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[]))
    AS v (id, consumed, overage, written_off) WHERE p.id = v.id
"""

# One statement per batch: every group's sums as arrays, added to the existing rows.
_ROLLUP_TYPES = {
    "account_id": "bigint",
    "day": "date",
    "model_id": "bigint",
    "api_key_id": "bigint",
    "events": "integer",
    "input_tokens": "bigint",
    "output_tokens": "bigint",
    "images": "bigint",
    "cost": "numeric",
    "credits": "numeric",
    "prepaid": "numeric",
    "overage": "numeric",
    "written_off": "numeric",
    "overage_input_tokens": "bigint",
    "overage_output_tokens": "bigint",
    "overage_images": "bigint",
}
if tuple(_ROLLUP_TYPES) != ROLLUP_COLUMNS:
    raise ImportError("_ROLLUP_TYPES must follow RollupRow field by field")
_UPSERT_ROLLUPS = f"""
    INSERT INTO billing_usagedaily ({", ".join(ROLLUP_COLUMNS)})
    SELECT * FROM unnest({", ".join(f"%s::{kind}[]" for kind in _ROLLUP_TYPES.values())})
    ON CONFLICT (account_id, day, model_id, api_key_id) DO UPDATE SET
    {", ".join(f"{c} = billing_usagedaily.{c} + EXCLUDED.{c}" for c in SUM_COLUMNS)}
"""  # noqa: S608 (constant column names)
_DELETE_ROLLUPS = """
    DELETE FROM billing_usagedaily WHERE account_id = ANY(%s) AND day BETWEEN %s AND %s
"""
# The same sums as metering.rollups, computed by the database over the month's events (the
# (account, occurred_at) index bounds the read).
_REBUILD_ROLLUPS = f"""
    INSERT INTO billing_usagedaily ({", ".join(ROLLUP_COLUMNS)})
    SELECT account_id, (occurred_at AT TIME ZONE '{BILLING_TZ.key}')::date, model_id, api_key_id,
        count(*), sum(input_tokens), sum(output_tokens), sum(images), sum(cost), sum(credits),
        sum(prepaid), sum(overage), sum(written_off),
        coalesce(sum(input_tokens) FILTER (WHERE overage > 0), 0),
        coalesce(sum(output_tokens) FILTER (WHERE overage > 0), 0),
        coalesce(sum(images) FILTER (WHERE overage > 0), 0)
    FROM billing_usageevent
    WHERE account_id = ANY(%s) AND occurred_at >= %s AND occurred_at < %s
    GROUP BY 1, 2, 3, 4
"""  # noqa: S608 (constant column names)


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class PostgresLedger(Ledger):
    def keys(self, hashes: Collection[str]) -> list[Key]:
        return [Key.from_row(row) for row in _rows(_KEYS, [list(hashes)])]

    def prices(self, slugs: Collection[str]) -> list[PriceRow]:
        return [PriceRow._make(row) for row in _rows(_PRICES, [list(slugs)])]

    def lock_periods(
        self, wanted: Collection[tuple[int, Month]]
    ) -> tuple[list[BillingPeriod], PaygNow]:
        periods, payg_now = [], {}
        width = len(_PERIOD_FIELDS)
        for row in _rows(_LOCK_PERIODS, list(period_months(wanted))):
            period = BillingPeriod(**dict(zip(_PERIOD_FIELDS, row[:width], strict=True)))
            periods.append(period)
            if row[width] is not None:
                payg_now[period.account_id] = (row[width], row[width + 1])
        return periods, payg_now

    def recorded(self, pairs: Collection[tuple[int, str]]) -> Recorded:
        if not pairs:
            return {}
        accounts, keys = zip(*pairs, strict=True)
        rows = _rows(_RECORDED, [list(accounts), list(keys)])
        return {(account_id, key): (fp, cost) for account_id, key, fp, cost in rows}

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        if len(rows) < COPY_MIN:
            insert_rows(rows)
            return
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table()} ({columns()}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def update_periods(self, totals: Sequence[PeriodTotals]) -> None:
        if not totals:
            return
        if len(totals) == 1:
            (period,) = totals
            BillingPeriod.objects.filter(pk=period.id).update(
                consumed=period.consumed, overage=period.overage, written_off=period.written_off
            )
            return
        with connection.cursor() as cursor:
            cursor.execute(_UPDATE_PERIODS, [list(column) for column in zip(*totals, strict=True)])

    def insert_new_events(self, rows: Sequence[EventRow], rollups: Sequence[RollupRow] = ()) -> int:
        """One round trip for the events and their rollups (a small batch, a single event:
        where a statement more would show). Rollups added for a batch where some key was
        recorded are rolled back with it by the caller."""
        if not rollups:
            return super().insert_new_events(rows)
        inserts = new_events_sql(len(rows))
        sql = f"WITH inserted AS ({inserts}), rolled AS ({_UPSERT_ROLLUPS}) SELECT count(*) FROM inserted"  # noqa: E501, S608
        params = insert_params(rows) + [list(column) for column in zip(*rollups, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def upsert_rollups(self, rollups: Sequence[RollupRow]) -> None:
        if not rollups:
            return
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT_ROLLUPS, [list(column) for column in zip(*rollups, strict=True)])

    def rebuild_rollups(self, *, account_ids: Collection[int], month: Month) -> int:
        account_ids = list(account_ids)
        with connection.cursor() as cursor:
            cursor.execute(_DELETE_ROLLUPS, [account_ids, month.first_day, month.last_day])
            cursor.execute(_REBUILD_ROLLUPS, [account_ids, month.starts_at, month.ends_at])
            return cursor.rowcount
