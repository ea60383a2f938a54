"""The metering ledger's store: the only place the money path reads and writes the database.

Two implementations share this interface and one contract test: PostgreSQL (raw SQL, COPY,
unnest; compiling the ORM queries costs more than running them on this hot path) and a portable
ORM one (SQLite, the one-machine mode). ``ledger_for`` picks one from the connection's vendor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from ...models import BillingPeriod, KeySpend, PrepaidBalance, UsageEvent
from ...periods import Month
from ..rollups import RollupRow, rollups_of
from ..rows import (
    DATETIME_COLUMNS,
    EVENT_COLUMNS,
    BalanceTotals,
    EventRow,
    Key,
    KeySpendRow,
    PaygNow,
    PeriodTotals,
    PriceRow,
    SpendTotals,
)

# (account_id, idempotency_key) -> (fingerprint, cost) of an event already recorded.
Recorded = dict[tuple[int, str], tuple[str, Decimal]]

# Rows per INSERT statement: within SQLite's 32 766 bound variables.
INSERT_CHUNK = 1000


class Locked(NamedTuple):
    """What a charge holds under its locks (Ledger.lock)."""

    periods: list[BillingPeriod]
    payg_now: PaygNow
    spends: list[KeySpendRow]
    balances: dict[int, Decimal]


class Totals(NamedTuple):
    """A charge's writes after its inserts (absolute values)."""

    periods: Sequence[PeriodTotals]
    spends: Sequence[SpendTotals]
    balances: Sequence[BalanceTotals]


class Ledger(ABC):
    """One global lock order, in every transaction of the money path (batches, payg_set,
    prepaid_credit, the close): the periods by pk, then the key spends by pk, then the prepaid
    balances by account pk. A transaction takes any subset of them, always in that order, so
    two of them never wait on each other in a cycle. (A key spend is only ever written under
    its period's lock, so within the key spends the order is free: PostgreSQL takes them by
    (key, month) in the statement that creates the missing ones.)"""

    @abstractmethod
    def keys(self, hashes: Collection[str]) -> list[Key]:
        """The keys with these hashes, with their account's subscription."""

    @abstractmethod
    def prices(self, slugs: Collection[str]) -> list[PriceRow]:
        """Every price row of the models with these slugs."""

    @abstractmethod
    def lock_periods(
        self, wanted: Collection[tuple[int, Month]]
    ) -> tuple[list[BillingPeriod], PaygNow]:
        """Lock the existing periods among `wanted` (FOR NO KEY UPDATE, in pk order so that
        batches never deadlock) and read each account's pay-as-you-go switch under those locks
        (payg_set takes them too). Call inside a transaction."""

    @abstractmethod
    def lock_key_spends(self, wanted: Collection[tuple[int, date]]) -> list[KeySpendRow]:
        """Lock the (key, month first day) spend rows, created at 0 when absent, with each
        key's budget read under the lock. After the periods' locks, which already serialise
        every writer of these rows (so their own order cannot form a cycle)."""

    @abstractmethod
    def lock_balances(self, account_ids: Collection[int]) -> dict[int, Decimal]:
        """Lock the prepaid balances of these accounts that exist (in account pk order) and
        return them. After the periods and the key spends."""

    def references(
        self, hashes: Collection[str], slugs: Collection[str]
    ) -> tuple[list[Key], list[PriceRow]]:
        """``keys(hashes)`` and ``prices(slugs)`` (one round trip on PostgreSQL)."""
        return self.keys(hashes), self.prices(slugs)

    def lock(
        self,
        periods: Collection[tuple[int, Month]],
        spends: Collection[tuple[int, date]],
        accounts: Collection[int],
    ) -> Locked:
        """A charge's locks in the global order: ``lock_periods``, ``lock_key_spends``,
        ``lock_balances`` (one round trip on PostgreSQL). Call inside a transaction."""
        locked, payg_now = self.lock_periods(periods)
        return Locked(locked, payg_now, self.lock_key_spends(spends), self.lock_balances(accounts))

    def record(self, rows: Sequence[EventRow], totals: Totals, *, new: bool) -> int:
        """A charge's writes: the events, their rollups, then the totals; returns how many
        events were inserted. `new`: a recorded key is not an error: fewer than all are
        inserted (``insert_new_events`` skips it; PostgreSQL's COPY of a large batch inserts
        none) and the caller rolls the transaction back. Else a recorded key raises
        IntegrityError. ValueError without rows (an INSERT needs one)."""
        if not rows:
            raise ValueError("record needs at least one event row")
        if new:
            inserted = self.insert_new_events(rows, rollups=True)
            if inserted != len(rows):
                return inserted
        else:
            self.insert_events(rows)
            self.upsert_rollups(rollups_of(rows))
        self.write_totals(*totals)
        return len(rows)

    @abstractmethod
    def recorded(self, pairs: Collection[tuple[int, str]]) -> Recorded:
        """Fingerprint and cost of the (account, idempotency key) pairs already recorded."""

    @abstractmethod
    def insert_events(self, rows: Sequence[EventRow]) -> None:
        """Insert the rows; a recorded idempotency key raises IntegrityError."""

    def insert_new_events(self, rows: Sequence[EventRow], *, rollups: bool = False) -> int:
        """Insert the rows whose idempotency key is new; returns how many were inserted. With
        `rollups`, when all were, add theirs to the daily rollups; when some were not, the
        caller rolls the transaction back."""
        with connection.cursor() as cursor:
            cursor.execute(new_events_sql(len(rows)), _insert_params(rows))
            inserted = len(cursor.fetchall())
        if rollups and inserted == len(rows):
            self.upsert_rollups(rollups_of(rows))
        return inserted

    @abstractmethod
    def update_periods(self, totals: Sequence[PeriodTotals]) -> None:
        """Write the periods' new totals (absolute values, exact Decimals computed by the
        caller: SQLite would add decimals as floats)."""

    def write_totals(
        self,
        periods: Sequence[PeriodTotals],
        spends: Sequence[SpendTotals],
        balances: Sequence[BalanceTotals],
    ) -> None:
        """A charge's writes after its inserts: periods, key spends, balances."""
        self.update_periods(periods)
        self.update_key_spends(spends)
        self.update_balances(balances)

    def update_key_spends(self, totals: Sequence[SpendTotals]) -> None:
        for spend in totals:
            KeySpend.objects.filter(pk=spend.id).update(charged=spend.charged)

    def update_balances(self, totals: Sequence[BalanceTotals]) -> None:
        now = timezone.now()
        for total in totals:
            PrepaidBalance.objects.filter(pk=total.account_id).update(
                balance=total.balance, updated_at=now
            )

    @abstractmethod
    def upsert_rollups(self, rollups: Sequence[RollupRow]) -> None:
        """Add each group's sums to its UsageDaily row, creating it if absent. Call inside the
        transaction that inserts the events, under their periods' locks."""

    @abstractmethod
    def rebuild_rollups(self, *, account_ids: Collection[int], month: Month) -> int:
        """Replace the accounts' UsageDaily rows of `month` by sums of their events; returns
        how many rows were written. Call under the periods' locks (nothing is inserted
        meanwhile)."""


def table() -> str:
    return connection.ops.quote_name(UsageEvent._meta.db_table)


def columns() -> str:
    return ", ".join(connection.ops.quote_name(column) for column in EVENT_COLUMNS)


@lru_cache(maxsize=256)
def _insert_sql(count: int, vendor: str) -> str:
    placeholder = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
    return (
        f"INSERT INTO {table()} ({columns()}) VALUES "  # noqa: S608 (no input in it)
        + ", ".join([placeholder] * count)
    )


def _insert_params(rows: Sequence[EventRow]) -> list:
    # The backend adapts datetimes (SQLite stores them naive, in UTC).
    adapt = connection.ops.adapt_datetimefield_value
    params: list = []
    for row in rows:
        values = list(row)
        for index in DATETIME_COLUMNS:
            values[index] = adapt(values[index])
        params.extend(values)
    return params


def new_events_sql(count: int, returning: tuple[str, ...] = ("id",)) -> str:
    """The INSERT of `count` rows that skips recorded idempotency keys, returning these
    columns of the new rows."""
    return _new_events_sql(count, returning, connection.vendor)


# Built once per size and database: a single event's request builds no SQL text (issue 10).
@lru_cache(maxsize=256)
def _new_events_sql(count: int, returning: tuple[str, ...], vendor: str) -> str:
    quote = connection.ops.quote_name
    return (
        _insert_sql(count, vendor)
        + f" ON CONFLICT ({quote('account_id')}, {quote('idempotency_key')}) DO NOTHING"
        + f" RETURNING {', '.join(quote(column) for column in returning)}"
    )


def insert_params(rows: Sequence[EventRow]) -> list:
    return _insert_params(rows)


def insert_rows(rows: Sequence[EventRow]) -> None:
    """Multi-row INSERTs of prepared values.

    bulk_create's per-field preparation costs more than the database itself for a batch of
    1 000; the values here are already what the columns hold (exact Decimals, ints, aware
    datetimes). A collision on the unique constraint raises IntegrityError all the same.
    """
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            cursor.execute(_insert_sql(len(chunk), connection.vendor), _insert_params(chunk))


def period_months(wanted: Collection[tuple[int, Month]]) -> tuple[list[int], list]:
    """The sorted account ids and month first days of the wanted periods."""
    account_ids = sorted({account_id for account_id, _ in wanted})
    months = sorted({month.first_day for _, month in wanted})
    return account_ids, months
