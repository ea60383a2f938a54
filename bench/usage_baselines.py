"""The raw-SQL baseline of the metering benchmark: the fastest plain insert we can write.

psycopg alone, no HTTP and no rules: rows built before the clock starts, binary COPY of the
events and one UPDATE of their periods per batch, from several connections at once. The HTTP
path of bench_usage.py is judged against it (issue 10).
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter

import psycopg
from usage_load import timed_threads

# The same columns as the service's COPY on PostgreSQL, so the ratio compares the rules and the
# HTTP layer, not two ways of inserting.
COPY = """
COPY billing_usageevent (account_id, period_id, api_key_id, model_id, idempotency_key,
    fingerprint, input_tokens, output_tokens, images, occurred_at, received_at, input_price,
    output_price, image_price, cost, credits, overage, written_off, pay_as_you_go) FROM STDIN
"""
COPY_BINARY = COPY.strip() + " (FORMAT BINARY)"
COPY_TYPES = [
    *["bigint"] * 4,
    "varchar",
    "varchar",
    "bigint",
    "bigint",
    "integer",
    "timestamptz",
    "timestamptz",
    *["numeric"] * 7,
    "boolean",
]
PRICE_IN, PRICE_OUT, COST, ZERO = Decimal(250), Decimal(1000), Decimal("1.625"), Decimal(0)


def _work(
    ids: list[tuple[int, int, int]], model_id: int, batches: int, size: int, group: int
) -> list:
    """Each transaction's work: its rows, its periods' ids sorted, the amount to add to each.
    A batch is cut into transactions of whole accounts of at least `group` rows (as the
    service charges it), or kept whole when `group` is 0."""
    from billing.metering.batch import account_groups  # after django.setup()

    rng = random.Random(3)
    now = datetime.now(UTC)
    work = []
    for _ in range(batches):
        rows = []
        for _ in range(size):
            a, p, k = rng.choice(ids)
            identity = (a, p, k, model_id, uuid.uuid4().hex, "0" * 64)
            prices = (PRICE_IN, PRICE_OUT, None)
            rows.append((*identity, 500, 1500, 0, now, now, *prices, COST, ZERO, ZERO, COST, False))
        # The service's own cut (billing.metering.batch): rows start with their account id.
        for part in account_groups(rows, group, itemgetter(0)) if group else [rows]:
            periods: dict[int, int] = {}
            for row in part:
                periods[row[1]] = periods.get(row[1], 0) + 1
            ordered = sorted(periods)
            work.append((part, ordered, [COST * periods[i] for i in ordered]))
    return work


def raw_sql(
    *,
    database_url: str,
    ids: list[tuple[int, int, int]],
    model_id: int,
    batches: int,
    size: int,
    clients: int,
    group: int = 0,
) -> float:
    """Insert `batches` batches of `size` events of the (account, period, key) `ids`; returns
    the wall time. Each batch is one transaction (or one per account group, with `group`):
    the periods locked in id order, a binary COPY of the events and one UPDATE of their
    periods, from `clients` connections at once."""
    work = _work(ids, model_id, batches, size, group)
    lock = threading.Lock()
    cursor = iter(work)

    def client() -> None:
        with psycopg.connect(database_url) as conn:
            while True:
                with lock:
                    unit = next(cursor, None)
                if unit is None:
                    return
                rows, period_ids, amounts = unit
                with conn.transaction(), conn.cursor() as cur:
                    # The periods locked in id order first (as the service does): an UPDATE
                    # alone locks in join order, and concurrent batches would deadlock.
                    cur.execute(
                        "SELECT id FROM billing_billingperiod WHERE id = ANY(%s) "
                        "ORDER BY id FOR NO KEY UPDATE",
                        [period_ids],
                    )
                    with cur.copy(COPY_BINARY) as copy:
                        copy.set_types(COPY_TYPES)
                        for row in rows:
                            copy.write_row(row)
                    cur.execute(
                        "UPDATE billing_billingperiod AS p "
                        "SET written_off = p.written_off + v.amount "
                        "FROM unnest(%s::bigint[], %s::numeric[]) AS v (id, amount) "
                        "WHERE p.id = v.id",
                        [period_ids, amounts],
                    )

    return timed_threads(client, clients)
