"""Daily usage rollups: the events of a batch summed per (account, Algiers day, model, key).

The ledger adds these sums to UsageDaily in the transaction that inserts the events (one row
upserted per (account, day, model, key) per transaction; on PostgreSQL a small one's sums are
computed by the database, ledger/postgres_sql.ROLLUPS_OF_INSERTED), so every usage read and
the close aggregate a few rows per day instead of the raw events. The same accumulation
rebuilds them from the events (``usage_rollups_rebuild``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from ..money import ZERO
from ..periods import local_date


class RollupKey(NamedTuple):
    account_id: int
    day: date
    model_id: int
    api_key_id: int


class RollupRow(NamedTuple):
    """One UsageDaily row's sums (to add to the stored row, or to store when rebuilding).

    The overage_* counts are those of the events with some overage: the close's overage lines
    print them, so an invoice read from the rollups is the invoice read from the events."""

    account_id: int
    day: date
    model_id: int
    api_key_id: int
    events: int
    input_tokens: int
    output_tokens: int
    images: int
    cost: Decimal
    credits: Decimal
    prepaid: Decimal
    overage: Decimal
    written_off: Decimal
    overage_input_tokens: int
    overage_output_tokens: int
    overage_images: int


ROLLUP_COLUMNS = RollupRow._fields
SUM_COLUMNS = ROLLUP_COLUMNS[len(RollupKey._fields) :]


class EventAmounts(NamedTuple):
    """What a rollup needs of one event (an EventRow, or a row read back from the table)."""

    account_id: int
    api_key_id: int
    model_id: int
    occurred_at: datetime
    input_tokens: int
    output_tokens: int
    images: int
    cost: Decimal
    credits: Decimal
    prepaid: Decimal
    overage: Decimal
    written_off: Decimal


class Rollups:
    """Sums per group, in exact Decimals (SQLite would add decimals as floats)."""

    def __init__(self) -> None:
        self._groups: dict[RollupKey, list] = {}

    def add(self, event: EventAmounts) -> None:
        key = RollupKey(
            event.account_id, local_date(event.occurred_at), event.model_id, event.api_key_id
        )
        sums = self._groups.get(key)
        if sums is None:
            sums = self._groups[key] = [0, 0, 0, 0, ZERO, ZERO, ZERO, ZERO, ZERO, 0, 0, 0]
        sums[0] += 1
        sums[1] += event.input_tokens
        sums[2] += event.output_tokens
        sums[3] += event.images
        sums[4] += event.cost
        sums[5] += event.credits
        sums[6] += event.prepaid
        sums[7] += event.overage
        sums[8] += event.written_off
        if event.overage > 0:
            sums[9] += event.input_tokens
            sums[10] += event.output_tokens
            sums[11] += event.images

    def rows(self) -> list[RollupRow]:
        """The groups in key order: every transaction upserts in the same order."""
        return [RollupRow(*key, *sums) for key, sums in sorted(self._groups.items())]

    def __len__(self) -> int:
        return len(self._groups)


def event_amounts(row) -> EventAmounts:
    """An EventRow's amounts; its prepaid part when the row carries one (else nothing)."""
    return EventAmounts(
        row.account_id,
        row.api_key_id,
        row.model_id,
        row.occurred_at,
        row.input_tokens,
        row.output_tokens,
        row.images,
        row.cost,
        row.credits,
        getattr(row, "prepaid", ZERO),
        row.overage,
        row.written_off,
    )


def rollups_of(rows: Iterable) -> list[RollupRow]:
    """The rollup increments of a batch's inserted event rows, in key order."""
    rollups = Rollups()
    for row in rows:
        rollups.add(event_amounts(row))
    return rollups.rows()
