"""The PostgreSQL store: plain SQL on the hot path (compiling the equivalent ORM queries costs
three times as long as running them), COPY for large inserts, arrays bound as one parameter,
and a charge in few round trips (statements sent together; writes as data-modifying CTEs)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection

from ...models import BillingPeriod, UsageEvent
from ...periods import Month
from ..rollups import RollupRow, rollups_of
from ..rows import (
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
    Locked,
    Recorded,
    Totals,
    columns,
    insert_params,
    insert_rows,
    new_events_sql,
    period_months,
    table,
)
from .postgres_sql import (
    COPY_MIN,
    DELETE_ROLLUPS,
    INSERTED_COLUMNS,
    KEYS,
    LOCK,
    LOCK_BALANCES,
    LOCK_PERIODS,
    LOCK_SPENDS,
    PERIOD_FIELDS,
    PRICES,
    REBUILD_ROLLUPS,
    RECORDED,
    REFERENCES,
    ROLLUPS_OF_INSERTED,
    SET_BALANCES,
    SET_SPENDS,
    UPDATE_PERIODS,
    UPSERT_ROLLUPS,
    columns_of,
    record_new_sql,
    writes_after_copy_sql,
    writes_sql,
)

__all__ = ["COPY_MIN", "PostgresLedger"]

# The unique constraint that makes an event count once (account, idempotency key).
IDEMPOTENCY_CONSTRAINT = next(
    constraint.name
    for constraint in UsageEvent._meta.constraints
    if getattr(constraint, "fields", None) == ("account", "idempotency_key")
)


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _periods_of(rows: list[tuple]) -> tuple[list[BillingPeriod], PaygNow]:
    periods, payg_now = [], {}
    width = len(PERIOD_FIELDS)
    for row in rows:
        period = BillingPeriod(**dict(zip(PERIOD_FIELDS, row[:width], strict=True)))
        periods.append(period)
        if row[width] is not None:
            payg_now[period.account_id] = (row[width], row[width + 1], row[width + 2])
    return periods, payg_now


def _idempotency_collision(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == IDEMPOTENCY_CONSTRAINT


def _spends_params(wanted: Collection[tuple[int, date]]) -> list[list]:
    return [list(column) for column in zip(*sorted(wanted), strict=True)]


def _totals_params(totals: Totals) -> list[list]:
    """The arrays of writes_sql: the parts with something to write, in its order."""
    spends = columns_of(totals.spends, 2) if totals.spends else []
    balances = columns_of(totals.balances, 2) if totals.balances else []
    return spends + balances + columns_of(totals.periods, 5)


class PostgresLedger(Ledger):
    def references(
        self, hashes: Collection[str], slugs: Collection[str]
    ) -> tuple[list[Key], list[PriceRow]]:
        with connection.cursor() as cursor:
            cursor.execute(REFERENCES, [list(hashes), list(slugs)])
            keys = [Key.from_row(row) for row in cursor.fetchall()]
            cursor.nextset()
            return keys, [PriceRow._make(row) for row in cursor.fetchall()]

    def lock(
        self,
        periods: Collection[tuple[int, Month]],
        spends: Collection[tuple[int, date]],
        accounts: Collection[int],
    ) -> Locked:
        if not spends or not accounts:
            return super().lock(periods, spends, accounts)
        with connection.cursor() as cursor:
            cursor.execute(
                LOCK, [*period_months(periods), *_spends_params(spends), sorted(accounts)]
            )
            locked, payg_now = _periods_of(cursor.fetchall())
            cursor.nextset()
            spend_rows = [KeySpendRow._make(row) for row in cursor.fetchall()]
            cursor.nextset()
            return Locked(locked, payg_now, spend_rows, dict(cursor.fetchall()))

    def record(self, rows: Sequence[EventRow], totals: Totals, *, new: bool) -> int:
        if not rows:
            return super().record(rows, totals, new=new)  # refuses them
        spends, balances = bool(totals.spends), bool(totals.balances)
        with connection.cursor() as cursor:
            if new and len(rows) < COPY_MIN:
                inserts = new_events_sql(len(rows), INSERTED_COLUMNS)
                cursor.execute(
                    record_new_sql(inserts, spends=spends, balances=balances),
                    insert_params(rows) + _totals_params(totals),
                )
                return cursor.fetchone()[0]
            try:
                self.insert_events(rows)
            except IntegrityError as error:
                # COPY cannot skip a recorded key: with `new`, a collision is an answer (none
                # inserted; the caller rolls back), not an error.
                if new and _idempotency_collision(error):
                    return 0
                raise
            rollup_params = [list(column) for column in zip(*rollups_of(rows), strict=True)]
            cursor.execute(
                writes_after_copy_sql(spends=spends, balances=balances),
                rollup_params + _totals_params(totals),
            )
            return len(rows)

    def keys(self, hashes: Collection[str]) -> list[Key]:
        return [Key.from_row(row) for row in _rows(KEYS, [list(hashes)])]

    def prices(self, slugs: Collection[str]) -> list[PriceRow]:
        return [PriceRow._make(row) for row in _rows(PRICES, [list(slugs)])]

    def lock_periods(
        self, wanted: Collection[tuple[int, Month]]
    ) -> tuple[list[BillingPeriod], PaygNow]:
        return _periods_of(_rows(LOCK_PERIODS, list(period_months(wanted))))

    def lock_key_spends(self, wanted: Collection[tuple[int, date]]) -> list[KeySpendRow]:
        if not wanted:
            return []
        return [KeySpendRow._make(row) for row in _rows(LOCK_SPENDS, _spends_params(wanted))]

    def lock_balances(self, account_ids: Collection[int]) -> dict[int, Decimal]:
        if not account_ids:
            return {}
        return dict(_rows(LOCK_BALANCES, [sorted(account_ids)]))

    def update_key_spends(self, totals: Sequence[SpendTotals]) -> None:
        if totals:
            with connection.cursor() as cursor:
                cursor.execute(SET_SPENDS, columns_of(totals, 2))

    def update_balances(self, totals: Sequence[BalanceTotals]) -> None:
        if totals:
            with connection.cursor() as cursor:
                cursor.execute(SET_BALANCES, columns_of(totals, 2))

    def write_totals(
        self,
        periods: Sequence[PeriodTotals],
        spends: Sequence[SpendTotals],
        balances: Sequence[BalanceTotals],
    ) -> None:
        totals = Totals(periods, spends, balances)
        with connection.cursor() as cursor:
            cursor.execute(
                writes_sql(spends=bool(spends), balances=bool(balances)), _totals_params(totals)
            )

    def recorded(self, pairs: Collection[tuple[int, str]]) -> Recorded:
        if not pairs:
            return {}
        accounts, keys = zip(*pairs, strict=True)
        rows = _rows(RECORDED, [list(accounts), list(keys)])
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
            # Text, not binary: measured, psycopg formats these rows faster as text (numeric).
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
            cursor.execute(UPDATE_PERIODS, [list(column) for column in zip(*totals, strict=True)])

    def insert_new_events(self, rows: Sequence[EventRow], *, rollups: bool = False) -> int:
        """One round trip for the events and their rollups (a small batch, a single event:
        where a statement more would show), the rollups summed by the database over the rows
        inserted. Rollups added for a batch where some key was recorded are rolled back with
        it by the caller."""
        if not rollups or not rows:
            return super().insert_new_events(rows, rollups=rollups)
        inserts = new_events_sql(len(rows), INSERTED_COLUMNS)
        sql = f"WITH inserted AS ({inserts}), rolled AS ({ROLLUPS_OF_INSERTED}) SELECT count(*) FROM inserted"  # noqa: E501, S608
        with connection.cursor() as cursor:
            cursor.execute(sql, insert_params(rows))
            return cursor.fetchone()[0]

    def upsert_rollups(self, rollups: Sequence[RollupRow]) -> None:
        if not rollups:
            return
        with connection.cursor() as cursor:
            cursor.execute(UPSERT_ROLLUPS, [list(column) for column in zip(*rollups, strict=True)])

    def rebuild_rollups(self, *, account_ids: Collection[int], month: Month) -> int:
        account_ids = list(account_ids)
        with connection.cursor() as cursor:
            cursor.execute(DELETE_ROLLUPS, [account_ids, month.first_day, month.last_day])
            cursor.execute(REBUILD_ROLLUPS, [account_ids, month.starts_at, month.ends_at])
            return cursor.rowcount
