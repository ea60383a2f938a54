"""The PostgreSQL store: plain SQL on the hot path (compiling the equivalent ORM queries costs
three times as long as running them), COPY for large inserts, arrays bound as one parameter."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

from django.db import connection

from ...models import BillingPeriod
from ...periods import BILLING_TZ, Month
from ..rollups import ROLLUP_COLUMNS, SUM_COLUMNS, RollupRow
from ..rows import (
    KEY_SOURCES,
    PRICE_SOURCES,
    BalanceTotals,
    EventRow,
    Key,
    KeySpendRow,
    PaygNow,
    PeriodTotals,
    PriceRow,
    SpendTotals,
)
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
    "prepaid_used",
    "overage",
    "written_off",
    "status",
)
_KEYS = f"""
    SELECT {", ".join(sql for _, sql in KEY_SOURCES.values())}
    FROM accounts_apikey k LEFT JOIN billing_subscription s ON s.account_id = k.account_id
    LEFT JOIN billing_prepaidbalance b ON b.account_id = k.account_id
    LEFT JOIN billing_alertsettings a ON a.account_id = k.account_id
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
           s.pay_as_you_go, s.pay_as_you_go_changed_at, s.payg_cap
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
    SET consumed = v.consumed, prepaid_used = v.prepaid_used, overage = v.overage,
        written_off = v.written_off
    FROM (SELECT * FROM unnest(
        %s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[]))
    AS v (id, consumed, prepaid_used, overage, written_off) WHERE p.id = v.id
"""
# Key spends: created at 0 when absent and locked in one statement (a no-op DO UPDATE locks
# the existing rows and returns them), with the key's budget read under the lock. In (key,
# month) order; their only writers hold the periods' locks first, so no cycle can form.
_LOCK_SPENDS = """
    INSERT INTO billing_keyspend AS s (api_key_id, month, charged)
    SELECT k, m, 0 FROM unnest(%s::bigint[], %s::date[]) AS v (k, m) ORDER BY k, m
    ON CONFLICT (api_key_id, month) DO UPDATE SET charged = s.charged
    RETURNING s.id, s.api_key_id, s.month, s.charged,
        (SELECT k.monthly_budget FROM accounts_apikey k WHERE k.id = s.api_key_id)
"""
_LOCK_BALANCES = """
    SELECT account_id, balance FROM billing_prepaidbalance
    WHERE account_id = ANY(%s) ORDER BY account_id FOR NO KEY UPDATE
"""
_SET_SPENDS = """
    UPDATE billing_keyspend AS s SET charged = v.charged
    FROM (SELECT * FROM unnest(%s::bigint[], %s::numeric[])) AS v (id, charged)
    WHERE s.id = v.id
"""
_SET_BALANCES = """
    UPDATE billing_prepaidbalance AS b SET balance = v.balance, updated_at = now()
    FROM (SELECT * FROM unnest(%s::bigint[], %s::numeric[])) AS v (account_id, balance)
    WHERE b.account_id = v.account_id
"""
# The three writes of a charge in one round trip (data-modifying CTEs); empty arrays are no-ops.
_WRITE_TOTALS = f"""
    WITH spends AS ({_SET_SPENDS}), balances AS ({_SET_BALANCES})
    {_UPDATE_PERIODS}
"""


def _columns(rows: Sequence[tuple], width: int) -> list[list]:
    """Rows as `width` parallel arrays (empty arrays for no rows)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


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
                payg_now[period.account_id] = (row[width], row[width + 1], row[width + 2])
        return periods, payg_now

    def lock_key_spends(self, wanted: Collection[tuple[int, date]]) -> list[KeySpendRow]:
        if not wanted:
            return []
        columns = [list(column) for column in zip(*sorted(wanted), strict=True)]
        return [KeySpendRow._make(row) for row in _rows(_LOCK_SPENDS, columns)]

    def lock_balances(self, account_ids: Collection[int]) -> dict[int, Decimal]:
        if not account_ids:
            return {}
        return dict(_rows(_LOCK_BALANCES, [sorted(account_ids)]))

    def update_key_spends(self, totals: Sequence[SpendTotals]) -> None:
        if totals:
            with connection.cursor() as cursor:
                cursor.execute(_SET_SPENDS, _columns(totals, 2))

    def update_balances(self, totals: Sequence[BalanceTotals]) -> None:
        if totals:
            with connection.cursor() as cursor:
                cursor.execute(_SET_BALANCES, _columns(totals, 2))

    def write_totals(
        self,
        periods: Sequence[PeriodTotals],
        spends: Sequence[SpendTotals],
        balances: Sequence[BalanceTotals],
    ) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                _WRITE_TOTALS,
                _columns(spends, 2) + _columns(balances, 2) + _columns(periods, 5),
            )

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
                consumed=period.consumed,
                prepaid_used=period.prepaid_used,
                overage=period.overage,
                written_off=period.written_off,
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
