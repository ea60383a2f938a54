"""The PostgreSQL store's statements: plain SQL, arrays bound as one parameter each."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ...periods import BILLING_TZ
from ..rollups import ROLLUP_COLUMNS, SUM_COLUMNS
from ..rows import KEY_SOURCES, PRICE_SOURCES

# From this many rows, COPY beats a multi-row INSERT (it costs two more round trips).
COPY_MIN = 50
PERIOD_FIELDS = (
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
KEYS = f"""
    SELECT {", ".join(sql for _, sql in KEY_SOURCES.values())}
    FROM accounts_apikey k LEFT JOIN billing_subscription s ON s.account_id = k.account_id
    LEFT JOIN billing_prepaidbalance b ON b.account_id = k.account_id
    LEFT JOIN billing_alertsettings a ON a.account_id = k.account_id
    WHERE k.key_hash = ANY(%s)
"""  # noqa: S608 (constant column names)
PRICES = f"""
    SELECT {", ".join(sql for _, sql in PRICE_SOURCES.values())}
    FROM catalog_modelprice p JOIN catalog_aimodel m ON m.id = p.model_id
    WHERE m.slug = ANY(%s)
"""  # noqa: S608 (constant column names)
# The subscriptions' pay-as-you-go switch comes along, read under the same locks.
LOCK_PERIODS = f"""
    SELECT {", ".join("p." + field for field in PERIOD_FIELDS)},
           s.pay_as_you_go, s.pay_as_you_go_changed_at, s.payg_cap
    FROM billing_billingperiod p
    LEFT JOIN billing_subscription s ON s.account_id = p.account_id
    WHERE p.account_id = ANY(%s) AND p.month = ANY(%s)
    ORDER BY p.id FOR NO KEY UPDATE OF p
"""  # noqa: S608 (constant column names)
# Exact (account, key) pairs as two arrays: one bound parameter each, not 2 000.
RECORDED = """
    SELECT account_id, idempotency_key, fingerprint, cost FROM billing_usageevent
    WHERE (account_id, idempotency_key) IN (SELECT * FROM unnest(%s::bigint[], %s::varchar[]))
"""
UPDATE_PERIODS = """
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
LOCK_SPENDS = """
    INSERT INTO billing_keyspend AS s (api_key_id, month, charged)
    SELECT k, m, 0 FROM unnest(%s::bigint[], %s::date[]) AS v (k, m) ORDER BY k, m
    ON CONFLICT (api_key_id, month) DO UPDATE SET charged = s.charged
    RETURNING s.id, s.api_key_id, s.month, s.charged,
        (SELECT k.monthly_budget FROM accounts_apikey k WHERE k.id = s.api_key_id)
"""
LOCK_BALANCES = """
    SELECT account_id, balance FROM billing_prepaidbalance
    WHERE account_id = ANY(%s) ORDER BY account_id FOR NO KEY UPDATE
"""
SET_SPENDS = """
    UPDATE billing_keyspend AS s SET charged = v.charged
    FROM (SELECT * FROM unnest(%s::bigint[], %s::numeric[])) AS v (id, charged)
    WHERE s.id = v.id
"""
SET_BALANCES = """
    UPDATE billing_prepaidbalance AS b SET balance = v.balance, updated_at = now()
    FROM (SELECT * FROM unnest(%s::bigint[], %s::numeric[])) AS v (account_id, balance)
    WHERE b.account_id = v.account_id
"""


def columns_of(rows: Sequence[tuple], width: int) -> list[list]:
    """Rows as `width` parallel arrays (empty arrays for no rows)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


# One statement per transaction: the sums of every (account, day, model, key) as arrays, added
# to the existing rows.
ROLLUP_TYPES = {
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
if tuple(ROLLUP_TYPES) != ROLLUP_COLUMNS:
    raise ImportError("ROLLUP_TYPES must follow RollupRow field by field")
# Adds a group's sums to its row, creating it if absent (the rows come in key order).
_ADD_TO_ROLLUPS = f"""
    ON CONFLICT (account_id, day, model_id, api_key_id) DO UPDATE SET
    {", ".join(f"{c} = billing_usagedaily.{c} + EXCLUDED.{c}" for c in SUM_COLUMNS)}
"""
UPSERT_ROLLUPS = f"""
    INSERT INTO billing_usagedaily ({", ".join(ROLLUP_COLUMNS)})
    SELECT * FROM unnest({", ".join(f"%s::{kind}[]" for kind in ROLLUP_TYPES.values())})
    {_ADD_TO_ROLLUPS}
"""  # noqa: S608 (constant column names)
DELETE_ROLLUPS = """
    DELETE FROM billing_usagedaily WHERE account_id = ANY(%s) AND day BETWEEN %s AND %s
"""
# The same sums as metering.rollups (RollupRow, field by field), computed by the database.
ROLLUP_SUMS = f"""
    account_id, (occurred_at AT TIME ZONE '{BILLING_TZ.key}')::date, model_id, api_key_id,
    count(*), sum(input_tokens), sum(output_tokens), sum(images), sum(cost), sum(credits),
    sum(prepaid), sum(overage), sum(written_off),
    coalesce(sum(input_tokens) FILTER (WHERE overage > 0), 0),
    coalesce(sum(output_tokens) FILTER (WHERE overage > 0), 0),
    coalesce(sum(images) FILTER (WHERE overage > 0), 0)
"""
# Over the month's events (the (account, occurred_at) index bounds the read).
REBUILD_ROLLUPS = f"""
    INSERT INTO billing_usagedaily ({", ".join(ROLLUP_COLUMNS)})
    SELECT {ROLLUP_SUMS} FROM billing_usageevent
    WHERE account_id = ANY(%s) AND occurred_at >= %s AND occurred_at < %s
    GROUP BY 1, 2, 3, 4
"""  # noqa: S608 (constant column names)
# Over the rows the CTE `inserted` returned (INSERTED_COLUMNS): a small batch's rollups cost no
# parameter and no Python.
INSERTED_COLUMNS = (
    "account_id",
    "occurred_at",
    "model_id",
    "api_key_id",
    "input_tokens",
    "output_tokens",
    "images",
    "cost",
    "credits",
    "prepaid",
    "overage",
    "written_off",
)
ROLLUPS_OF_INSERTED = f"""
    INSERT INTO billing_usagedaily ({", ".join(ROLLUP_COLUMNS)})
    SELECT {ROLLUP_SUMS} FROM inserted GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    {_ADD_TO_ROLLUPS}
"""  # noqa: S608 (constant column names)


# A charge's round trips: the batch's keys and prices; its three locks in the global order
# (statements of one string run one after the other); its writes.
REFERENCES = f"{KEYS};\n{PRICES}"
LOCK = f"{LOCK_PERIODS};\n{LOCK_SPENDS};\n{LOCK_BALANCES}"


def _totals_ctes(*, spends: bool, balances: bool) -> list[str]:
    # A part with nothing to write is left out: parsing and planning it showed on a single
    # event's request (issue 10).
    ctes = [f"spends AS ({SET_SPENDS})"] if spends else []
    return ctes + ([f"balances AS ({SET_BALANCES})"] if balances else [])


@lru_cache(maxsize=8)
def writes_sql(*, spends: bool, balances: bool) -> str:
    """The totals of a charge in one statement: the periods, and the key spends and prepaid
    balances when there are; its parameters are the arrays of the parts present, in this order:
    spends, balances, periods."""
    ctes = _totals_ctes(spends=spends, balances=balances)
    return (f"WITH {', '.join(ctes)} " if ctes else "") + UPDATE_PERIODS


@lru_cache(maxsize=8)
def writes_after_copy_sql(*, spends: bool, balances: bool) -> str:
    return f"{UPSERT_ROLLUPS};\n{writes_sql(spends=spends, balances=balances)}"


@lru_cache(maxsize=256)  # sizes below COPY_MIN × the parts present
def record_new_sql(inserts: str, *, spends: bool, balances: bool) -> str:
    """The events (`inserts`: ON CONFLICT DO NOTHING RETURNING INSERTED_COLUMNS), their rollups
    and the totals in one statement, returning how many events were new (data-modifying CTEs
    all run; a caller that finds fewer than it sent rolls back)."""
    ctes = [
        f"inserted AS ({inserts})",
        f"rolled AS ({ROLLUPS_OF_INSERTED})",
        *_totals_ctes(spends=spends, balances=balances),
        f"periods AS ({UPDATE_PERIODS})",
    ]
    return f"WITH {', '.join(ctes)} SELECT count(*) FROM inserted"  # noqa: S608
