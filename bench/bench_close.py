"""Monthly close at scale: N accounts closed on PostgreSQL, seconds and queries per 1 000 accounts.

For each N (BENCH_CLOSE_SIZES, default "10000,100000") the dedicated database
BENCH_CLOSE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/iafactory_bench_close) is
dropped, created and migrated, then filled with COPY: N customers on a mix of formulas (a fifth
with none), half with pay-as-you-go on, 5 % exempt of TVA, 5 % with a downgrade scheduled, 10 %
without a period for the month (the close makes it), each with three usage events.
The close of last month then runs in a fresh process (so its peak RSS is its own), and again
(the idempotent re-run). Target on 2 cores: 100 000 accounts in under 2 minutes.
BENCH_SMOKE=1: one tiny size (20 accounts), correctness checks only: the test suite runs it so a
schema change that breaks the benchmark breaks CI.

    .venv/bin/python bench/bench_close.py          # or: make bench
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get(
    "BENCH_CLOSE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iafactory_bench_close"
)
SMOKE = os.environ.get("BENCH_SMOKE", "") not in {"", "0"}
SIZES = [
    int(n)
    for n in os.environ.get("BENCH_CLOSE_SIZES", "20" if SMOKE else "10000,100000").split(",")
]
TARGET_SECONDS_100K = 120
ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "iafactory.settings",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "DEBUG": "0",
    "HTTPS": "0",
    "REDIS_URL": "",
    "LOG_LEVEL": "WARNING",
    # Messages are built (templates rendered) as in production, then dropped.
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    "CONN_MAX_AGE": "600",
}
os.environ.update(ENV)


def recreate_database() -> None:
    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def populate(n: int) -> dict:
    """Fill the database with COPY; returns what the close must produce."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Account, ApiKey, User
    from billing.models import BillingPeriod, PeriodFee, PlanChange, Subscription, UsageEvent
    from billing.overage import EventCharge, billed_quantity, event_overage_quantities, line_amount
    from billing.periods import Month
    from catalog.models import AIModel, ModelPrice, Plan

    call_command("migrate", verbosity=0)
    month = Month.current().previous()
    rng = random.Random(20261201)
    plans = list(Plan.objects.order_by("included_credits"))
    starter = plans[0]
    models = list(AIModel.objects.all())
    prices = {price.model_id: price for price in ModelPrice.objects.all()}
    created = month.starts_at - timedelta(days=40)
    million = Decimal(1_000_000)

    rows: dict[type, list[tuple]] = defaultdict(list)
    expected_invoices = 0
    expected_ht = Decimal(0)
    for i in range(1, n + 1):
        plan = rng.choices([None, *plans], weights=[20, 30, 30, 20])[0]
        payg = rng.random() < 0.5
        rows[User].append((i, "!", False, "", "", False, True, created, f"client{i}@bench.dz"))
        rows[Account].append(
            (i, f"Client {i} SARL", i, "Alger", "", "", "", "", rng.random() < 0.05, created)
        )
        rows[Subscription].append((i, plan.pk if plan else None, payg, created))
        rows[ApiKey].append((i, i, "bench", f"iaf_b{i:010d}", f"{i:064x}", created))
        if plan is not None and rng.random() < 0.05:
            rows[PlanChange].append(
                (
                    *(i, plan.pk, starter.pk if plan != starter else None, "downgrade"),
                    *("scheduled", month.starts_at, month.ends_at, Decimal(0)),
                )
            )
        credits_left = plan.included_credits if plan else Decimal(0)
        fee = plan.monthly_fee if plan else Decimal(0)
        has_period = rng.random() < 0.9
        # Issue 15: one line per model, unit and price, quantity × unit price.
        overage_by_unit: dict[tuple, Decimal] = defaultdict(Decimal)
        totals = {"consumed": Decimal(0), "overage": Decimal(0), "written_off": Decimal(0)}
        events = []
        for e in range(3 if has_period else 0):
            model = rng.choice(models)
            price = prices[model.pk]
            if model.kind == "text":
                tokens_in, tokens_out, images = rng.randint(0, 800_000), rng.randint(0, 400_000), 0
                cost = (
                    tokens_in * price.input_per_million + tokens_out * price.output_per_million
                ) / million
            else:
                tokens_in, tokens_out, images = 0, 0, rng.randint(1, 40)
                cost = images * price.per_image
            on_credits = min(cost, credits_left)
            credits_left -= on_credits
            rest = cost - on_credits
            overage, written_off = (rest, Decimal(0)) if payg else (Decimal(0), rest)
            totals["consumed"] += on_credits
            totals["overage"] += overage
            totals["written_off"] += written_off
            charge = EventCharge(
                *(tokens_in, tokens_out, images),
                *(price.input_per_million, price.output_per_million, price.per_image),
                covered=on_credits,
                overage=overage,
            )
            for unit, quantity in event_overage_quantities(charge).items():
                unit_price = {
                    "input": price.input_per_million,
                    "output": price.output_per_million,
                    "image": price.per_image,
                }[unit]
                overage_by_unit[model.pk, unit, unit_price] += quantity
            occurred = month.starts_at + timedelta(days=rng.randint(0, month.days - 1), hours=9)
            events.append(
                (
                    *(i, i, i, model.pk, f"b-{i}-{e}", "0" * 64, tokens_in, tokens_out, images),
                    *(occurred, occurred, price.input_per_million, price.output_per_million),
                    *(price.per_image, cost, on_credits, overage, written_off, payg),
                )
            )
        if has_period:
            rows[BillingPeriod].append(
                (
                    *(i, i, month.first_day, plan.pk if plan else None),
                    *(plan.included_credits if plan else Decimal(0), totals["consumed"]),
                    *(totals["overage"], totals["written_off"], "open", created),
                )
            )
            if plan is not None:
                rows[PeriodFee].append((i, i, plan.pk, month.first_day, month.days, fee))
            rows[UsageEvent].extend(events)
        ht = fee + sum(
            (
                line_amount(
                    unit=unit,
                    quantity=billed_quantity(unit, quantity),
                    unit_price=unit_price,
                )
                for (_, unit, unit_price), quantity in overage_by_unit.items()
            ),
            Decimal(0),
        )
        if ht > 0:
            expected_invoices += 1
            expected_ht += ht

    columns = {
        User: "id password is_superuser first_name last_name is_staff is_active date_joined email",
        Account: "id name owner_id billing_address nif nis rc article tva_exempt created_at",
        Subscription: "account_id plan_id pay_as_you_go started_at",
        ApiKey: "id account_id name prefix key_hash created_at",
        PlanChange: "account_id from_plan_id to_plan_id kind status requested_at effective_at "
        "credits_added",
        BillingPeriod: "id account_id month plan_id included_credits consumed overage "
        "written_off status created_at",
        PeriodFee: "id period_id plan_id first_day days amount",
        UsageEvent: "account_id period_id api_key_id model_id idempotency_key fingerprint "
        "input_tokens output_tokens images occurred_at received_at input_price output_price "
        "image_price cost credits overage written_off pay_as_you_go",
    }
    with connection.cursor() as cursor:
        raw = cursor.connection
        for model, names in columns.items():
            table = model._meta.db_table
            with raw.cursor().copy(f"COPY {table} ({', '.join(names.split())}) FROM STDIN") as cp:
                for row in rows[model]:
                    cp.write_row(row)
            if model._meta.pk.column == "id":  # identity columns: carry on after the copied ids
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
                )
    # The daily rollups the ledger would have kept with these events (the close reads them).
    call_command("usage_rollups_rebuild", "--month", str(month), verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return {
        "month": str(month),
        "invoices": expected_invoices,
        "total_ht": str(expected_ht),
        "events": len(rows[UsageEvent]),
        "without_period": n - len(rows[BillingPeriod]),
        "downgrades": len(rows[PlanChange]),
    }


def close_once(month: str) -> dict:
    """Run in its own process: the close, timed, its queries counted, its peak RSS taken."""
    import django

    django.setup()
    from django.db import connection

    from billing.periods import Month
    from billing.services.close import period_close

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        result = period_close(month=Month.parse(month))
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "queries": queries,
        "invoices": result.invoices,
        "accounts": result.accounts,
        "emails": result.emails,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def check(n: int, expected: dict) -> list[str]:
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Sum

    from billing.models import BillingPeriod, Invoice, InvoiceSequence, PlanChange
    from billing.periods import Month

    month = Month.parse(expected["month"])
    problems = []
    invoices = Invoice.objects.filter(month=month.first_day)
    if invoices.count() != expected["invoices"]:
        problems.append(f"{invoices.count()} invoices, expected {expected['invoices']}")
    total = invoices.aggregate(total=Sum("total_ht"))["total"] or Decimal(0)
    if str(total) != expected["total_ht"]:
        problems.append(f"total HT {total}, expected {expected['total_ht']}")
    sequences = InvoiceSequence.objects.get().last
    if sequences != expected["invoices"]:
        problems.append(f"sequence at {sequences}")
    if BillingPeriod.objects.filter(month=month.first_day, status="open").exists():
        problems.append("open periods left")
    if BillingPeriod.objects.filter(month=month.next().first_day).count() != n:
        problems.append("next month's periods missing")
    if PlanChange.objects.filter(status="scheduled").exists():
        problems.append("scheduled downgrades not applied")
    connection.close()
    return problems


def run_child(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *args],
        cwd=ROOT,
        env={**os.environ, **ENV},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    print(
        f"Monthly close on PostgreSQL ({DATABASE_URL.rsplit('/', 1)[-1]}), {os.cpu_count()} cores"
    )
    header = f"{'N':>8} {'seconds':>8} {'acc/s':>7} {'q/1000':>7} {'RSS MB':>7} {'invoices':>9}"
    header += f" {'re-run s':>9} {'re-run q/1000':>14}"
    lines = [header]
    failed = False
    for n in SIZES:
        recreate_database()
        start = time.perf_counter()
        expected = run_child("--populate", str(n))
        print(
            f"  N={n}: populated in {time.perf_counter() - start:.1f} s "
            f"({expected['events']} events, {expected['without_period']} without a period, "
            f"{expected['downgrades']} downgrades scheduled); closing {expected['month']}…",
            flush=True,
        )
        first = run_child("--close", expected["month"])
        second = run_child("--close", expected["month"])
        problems = run_child("--check", str(n), json.dumps(expected))["problems"]
        if second["invoices"]:
            problems.append(f"re-run issued {second['invoices']} invoices")
        lines.append(
            f"{n:>8} {first['seconds']:>8.1f} {n / first['seconds']:>7.0f} "
            f"{first['queries'] * 1000 / n:>7.1f} {first['peak_rss_mb']:>7.0f} "
            f"{first['invoices']:>9} {second['seconds']:>9.1f} "
            f"{second['queries'] * 1000 / n:>14.1f}"
        )
        if problems:
            failed = True
            print(f"  N={n}: WRONG: {'; '.join(problems)}")
        if not SMOKE and n >= 100_000 and first["seconds"] > TARGET_SECONDS_100K * n / 100_000:
            failed = True
            print(f"  N={n}: slower than the target ({TARGET_SECONDS_100K} s per 100 000)")
    print("\n".join(lines))
    print(
        f"Target: 100 000 accounts in under {TARGET_SECONDS_100K} s. {'FAILED' if failed else 'OK'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--populate":
        print(json.dumps(populate(int(sys.argv[2]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--close":
        print(json.dumps(close_once(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--check":
        print(json.dumps({"problems": check(int(sys.argv[2]), json.loads(sys.argv[3]))}))
    else:
        sys.exit(main())
