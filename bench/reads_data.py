"""The data of bench/bench_reads.py: N usage events and their rollups, written by SQL.

N / 1 000 accounts (at least 10) with two keys each and a period per month; a fifth of the
events on account 1 (the big one) in the current month, the rest spread over every other account
from the first of last month to now; then the daily rollups of those events (one INSERT … SELECT
… GROUP BY, as the rebuild does). Fast at 10 M: the events and rollups tables are UNLOGGED and
without their indexes and constraints while they fill (one INSERT … SELECT generate_series
each), which are then rebuilt in one pass each, then VACUUM ANALYZE. The tables stay UNLOGGED
(reads are the same; a crash empties them, acceptable for a benchmark).

The database is kept: with BENCH_REUSE=1 a database already filled with N events this month
(its COMMENT says so) is only migrated (new indexes build on the full table) and analysed.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit, urlunsplit

BIG_TABLES = ("billing_usageevent", "billing_usagedaily")


def _admin_connection(database_url: str):
    import psycopg

    parts = urlsplit(database_url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def _marker(n: int, month: str) -> str:
    return json.dumps({"bench_reads": n, "month": month})


def existing_fill(database_url: str, *, n: int, month: str) -> bool:
    """Whether the database exists and holds N events generated this month."""
    name = urlsplit(database_url).path.lstrip("/")
    with _admin_connection(database_url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    return row is not None and row[0] == _marker(n, month)


def recreate_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    with _admin_connection(database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _strip(cursor, table: str) -> list[str]:
    """Drop the table's constraints (but its primary key) and indexes; return the SQL that
    puts them back, indexes first (a unique constraint reuses none)."""
    cursor.execute(
        """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = %s::regclass AND contype <> 'p' ORDER BY contype DESC, conname""",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
           WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                             AND c.conrelid = i.indrelid)""",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    cursor.execute(f"ALTER TABLE {table} SET UNLOGGED")
    return [sql for _, sql in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {sql}' for name, sql in constraints
    ]


def _models_values(prices) -> str:
    return ", ".join(f"({i}, {m}, {pin}::numeric, {pout}::numeric)" for i, m, pin, pout in prices)


EVENTS_SQL = """
INSERT INTO billing_usageevent (account_id, period_id, api_key_id, model_id, idempotency_key,
    fingerprint, input_tokens, output_tokens, images, occurred_at, received_at, input_price,
    output_price, image_price, cost, credits, prepaid, overage, written_off, pay_as_you_go)
SELECT s.acc, 2 * s.acc - (s.occ < %(cur_start)s)::int, 2 * s.acc - s.g %% 2, m.model_id,
    'e-' || s.g, md5(s.g::text) || md5(s.g::text), s.tin, s.tout, 0, s.occ, s.occ, m.pin,
    m.pout, NULL, c.cost, c.cost, 0, 0, 0, true
FROM (
    SELECT g,
        CASE WHEN g <= %(big_events)s THEN 1 ELSE 2 + g %% (%(accounts)s - 1) END AS acc,
        CASE WHEN g <= %(big_events)s THEN %(cur_start)s ELSE %(prev_start)s END
        + (%(now)s - CASE WHEN g <= %(big_events)s THEN %(cur_start)s ELSE %(prev_start)s END)
          * ((g * 0.6180339887) %% 1)::float8 AS occ,
        (g::bigint * 7919) %% 2000 AS tin, (g::bigint * 104729) %% 1000 AS tout,
        g %% %(models)s AS mi
    FROM generate_series(1, %(n)s) g
) s
JOIN (VALUES {models}) m (mi, model_id, pin, pout) ON m.mi = s.mi
CROSS JOIN LATERAL (SELECT (s.tin * m.pin + s.tout * m.pout) / 1000000 AS cost) c
"""
SMALL_TABLES_SQL = [
    """INSERT INTO accounts_user (id, password, is_superuser, first_name, last_name, is_staff,
           is_active, date_joined, email)
       SELECT a, '!', false, '', '', false, true, %(prev_start)s, 'client' || a || '@bench.dz'
       FROM generate_series(1, %(accounts)s) a""",
    """INSERT INTO accounts_account (id, name, owner_id, billing_address, nif, nis, rc, article,
           tva_exempt, created_at)
       SELECT a, 'Client ' || a || ' SARL', a, 'Alger', '', '', '', '', false, %(prev_start)s
       FROM generate_series(1, %(accounts)s) a""",
    """INSERT INTO accounts_membership (account_id, user_id, role, created_at)
       SELECT a, a, 'owner', %(prev_start)s FROM generate_series(1, %(accounts)s) a""",
    """INSERT INTO billing_subscription (account_id, plan_id, pay_as_you_go, started_at)
       SELECT a, %(plan)s, true, %(prev_start)s FROM generate_series(1, %(accounts)s) a""",
    """INSERT INTO accounts_apikey (id, account_id, name, prefix, key_hash, created_at)
       SELECT k, (k + 1) / 2, 'clé ' || k, 'iaf_b' || lpad(k::text, 10, '0'),
           lpad(to_hex(k), 64, '0'), %(prev_start)s
       FROM generate_series(1, 2 * %(accounts)s) k""",
    """INSERT INTO billing_billingperiod (id, account_id, month, plan_id, included_credits,
           consumed, overage, written_off, status, created_at)
       SELECT p, (p + 1) / 2, CASE WHEN p %% 2 = 1 THEN %(prev)s ELSE %(cur)s END, %(plan)s,
           %(credits)s, 0, 0, 0, 'open', %(prev_start)s
       FROM generate_series(1, 2 * %(accounts)s) p""",
]


def populate(n: int, *, database_url: str, reuse: bool) -> dict:
    """Fill (or, when `reuse`, only migrate) the database; {accounts, rollups, seconds, bytes,
    reused, steps: {step: seconds}}."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from billing.metering.ledger.postgres_sql import ROLLUP_SUMS
    from billing.metering.rollups import ROLLUP_COLUMNS
    from billing.periods import Month
    from catalog.models import ModelPrice, Plan

    start = time.perf_counter()
    steps: dict[str, float] = {}

    def step(name: str, began: float) -> float:
        now = time.perf_counter()
        steps[name] = round(now - began, 1)
        return now

    call_command("migrate", verbosity=0)
    clock = step("migrate", start)
    accounts = max(10, n // 1000)
    current = Month.current()
    previous = current.previous()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET synchronous_commit = off")
        if not reuse:
            plan = Plan.objects.order_by("included_credits").last()
            prices = [
                (i, price.model_id, price.input_per_million, price.output_per_million)
                for i, price in enumerate(
                    ModelPrice.objects.filter(model__kind="text", input_per_million__isnull=False)
                    .order_by("model_id", "-effective_at")
                    .distinct("model_id")
                )
            ]
            params = {
                "accounts": accounts,
                "plan": plan.pk,
                "credits": plan.included_credits,
                "prev": previous.first_day,
                "cur": current.first_day,
                "prev_start": previous.starts_at,
                "cur_start": current.starts_at,
                "now": timezone.now(),
                "n": n,
                "big_events": n // 5,
                "models": len(prices),
            }
            for sql in SMALL_TABLES_SQL:
                cursor.execute(sql, params)
            for table in ("accounts_user", "accounts_account", "accounts_apikey"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('billing_billingperiod', 'id'), "
                "(SELECT MAX(id) FROM billing_billingperiod))"
            )
            restore = [sql for table in BIG_TABLES for sql in _strip(cursor, table)]
            clock = step("accounts, keys, periods", clock)
            cursor.execute(EVENTS_SQL.format(models=_models_values(prices)), params)
            clock = step("events", clock)
            cursor.execute(
                f"INSERT INTO billing_usagedaily ({', '.join(ROLLUP_COLUMNS)}) "
                f"SELECT {ROLLUP_SUMS} FROM billing_usageevent GROUP BY 1, 2, 3, 4"
            )
            clock = step("rollups", clock)
            for sql in restore:
                cursor.execute(sql)
            clock = step("indexes and constraints", clock)
        for table in BIG_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("ANALYZE")
        clock = step("vacuum analyze", clock)
        cursor.execute("SELECT count(*) FROM billing_usagedaily")
        rollups = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size('billing_usageevent')")
        table_bytes = cursor.fetchone()[0]
        name = connection.settings_dict["NAME"]
        cursor.execute(f"COMMENT ON DATABASE \"{name}\" IS '{_marker(n, str(current))}'")
    connection.close()
    return {
        "accounts": accounts,
        "rollups": rollups,
        "seconds": time.perf_counter() - start,
        "bytes": table_bytes,
        "reused": reuse,
        "steps": steps,
    }


def rollup_problems(account_id: int, month) -> list[str]:
    """What the consommation page reads (rollups) against what the events say, for `month`."""
    from django.db.models import Count, Sum

    from accounts.models import Account
    from billing.models import UsageEvent
    from billing.selectors import month_usage

    usage = month_usage(account=Account.objects.get(pk=account_id), month=month)
    exact = UsageEvent.objects.filter(
        account_id=account_id, occurred_at__gte=month.starts_at, occurred_at__lt=month.ends_at
    ).aggregate(cost=Sum("cost"), calls=Count("pk"))
    if usage.totals["cost"] == (exact["cost"] or 0) and usage.totals["calls"] == exact["calls"]:
        return []
    return [
        f"account {account_id}: rollups {usage.totals['calls']} calls {usage.totals['cost']} DZD"
        f" != events {exact['calls']} calls {exact['cost']} DZD"
    ]
