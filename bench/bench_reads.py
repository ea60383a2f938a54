"""Usage reads at scale: the requests of issue 13 for a small and a big account, on PostgreSQL.

For each size N (BENCH_EVENTS, default "100000,1000000"; "10000000" on request) the dedicated
database BENCH_READS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/iafactory_bench_reads)
is dropped, created and migrated, then filled with SQL (generate_series): N / 1 000 accounts (at
least 10) with two keys each, a fifth of the events on one big account in the current month, the
rest spread over every other account from the first of last month to now; then the daily rollups
of those events (one INSERT … SELECT … GROUP BY, as the rebuild does). A fresh process then times
each request (Django's test client, in process: view, ORM and database, no network) REPEAT times
and prints its median and p95 for the small and the big account, the ratio big / small, and the
process's peak RSS. Targets (issue 13, at 10 M events): customer-facing reads ≤ 100 ms at p95 for
the big account and ratio ≤ 2; the admin list ≤ 500 ms.
BENCH_SMOKE=1: one tiny size (2 000 events), two repeats, correctness checks only.

    .venv/bin/python bench/bench_reads.py      # or: make bench;  BENCH_EVENTS=10000000 for 10 M
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get(
    "BENCH_READS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iafactory_bench_reads"
)
SMOKE = os.environ.get("BENCH_SMOKE", "") not in {"", "0"}
SIZES = [
    int(float(n))
    for n in os.environ.get("BENCH_EVENTS", "2000" if SMOKE else "100000,1000000").split(",")
]
REPEAT = int(os.environ.get("BENCH_REPEAT", "2" if SMOKE else "15"))
TARGET_CUSTOMER_MS, TARGET_RATIO, TARGET_ADMIN_MS = 100, 2, 500
ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "iafactory.settings",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "DEBUG": "0",
    "HTTPS": "0",
    "REDIS_URL": "",
    "LOG_LEVEL": "WARNING",
    "ALLOWED_HOSTS": "testserver,localhost",
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    "CONN_MAX_AGE": "600",
}
os.environ.update(ENV)
BIG, SMALL = 1, 2  # account ids


def recreate_database() -> None:
    import psycopg

    parts = urlsplit(DATABASE_URL)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


def populate(n: int) -> dict:
    """Accounts, keys, periods and N events written by SQL; then their rollups."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from billing.periods import Month
    from catalog.models import ModelPrice, Plan

    call_command("migrate", verbosity=0)
    accounts = max(10, n // 1000)
    big_events = n // 5
    current = Month.current()
    previous = current.previous()
    now = timezone.now()
    plan = Plan.objects.order_by("included_credits").last()
    prices = [
        (i, price.model_id, price.input_per_million, price.output_per_million)
        for i, price in enumerate(
            ModelPrice.objects.filter(model__kind="text", input_per_million__isnull=False)
            .order_by("model_id", "-effective_at")
            .distinct("model_id")
        )
    ]
    models_values = ", ".join(
        f"({i}, {m}, {pin}::numeric, {pout}::numeric)" for i, m, pin, pout in prices
    )
    params = {
        "accounts": accounts,
        "plan": plan.pk,
        "credits": plan.included_credits,
        "prev": previous.first_day,
        "cur": current.first_day,
        "prev_start": previous.starts_at,
        "cur_start": current.starts_at,
        "now": now,
        "n": n,
        "big_events": big_events,
        "models": len(prices),
    }
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in [
            """INSERT INTO accounts_user (id, password, is_superuser, first_name, last_name,
                   is_staff, is_active, date_joined, email)
               SELECT a, '!', false, '', '', false, true, %(prev_start)s,
                   'client' || a || '@bench.dz'
               FROM generate_series(1, %(accounts)s) a""",
            """INSERT INTO accounts_account (id, name, owner_id, billing_address, nif, nis, rc,
                   article, tva_exempt, created_at)
               SELECT a, 'Client ' || a || ' SARL', a, 'Alger', '', '', '', '', false,
                   %(prev_start)s
               FROM generate_series(1, %(accounts)s) a""",
            """INSERT INTO billing_subscription (account_id, plan_id, pay_as_you_go, started_at)
               SELECT a, %(plan)s, true, %(prev_start)s FROM generate_series(1, %(accounts)s) a""",
            """INSERT INTO accounts_apikey (id, account_id, name, prefix, key_hash, created_at)
               SELECT k, (k + 1) / 2, 'clé ' || k, 'iaf_b' || lpad(k::text, 10, '0'),
                   lpad(to_hex(k), 64, '0'), %(prev_start)s
               FROM generate_series(1, 2 * %(accounts)s) k""",
            """INSERT INTO billing_billingperiod (id, account_id, month, plan_id, included_credits,
                   consumed, overage, written_off, status, created_at)
               SELECT p, (p + 1) / 2, CASE WHEN p %% 2 = 1 THEN %(prev)s ELSE %(cur)s END,
                   %(plan)s, %(credits)s, 0, 0, 0, 'open', %(prev_start)s
               FROM generate_series(1, 2 * %(accounts)s) p""",
            f"""INSERT INTO billing_usageevent (account_id, period_id, api_key_id, model_id,
                   idempotency_key, fingerprint, input_tokens, output_tokens, images, occurred_at,
                   received_at, input_price, output_price, image_price, cost, credits, prepaid,
                   overage, written_off, pay_as_you_go)
               SELECT s.acc, 2 * s.acc - (s.occ < %(cur_start)s)::int, 2 * s.acc - s.g %% 2,
                   m.model_id, 'e-' || s.g, md5(s.g::text) || md5(s.g::text), s.tin, s.tout, 0,
                   s.occ, s.occ, m.pin, m.pout, NULL, c.cost, c.cost, 0, 0, 0, true
               FROM (
                   SELECT g,
                       CASE WHEN g <= %(big_events)s THEN 1
                            ELSE 2 + g %% (%(accounts)s - 1) END AS acc,
                       CASE WHEN g <= %(big_events)s THEN %(cur_start)s ELSE %(prev_start)s END
                       + (%(now)s - CASE WHEN g <= %(big_events)s
                                         THEN %(cur_start)s ELSE %(prev_start)s END)
                         * ((g * 0.6180339887) %% 1)::float8 AS occ,
                       (g::bigint * 7919) %% 2000 AS tin, (g::bigint * 104729) %% 1000 AS tout,
                       g %% %(models)s AS mi
                   FROM generate_series(1, %(n)s) g
               ) s
               JOIN (VALUES {models_values}) m (mi, model_id, pin, pout) ON m.mi = s.mi
               CROSS JOIN LATERAL (
                   SELECT (s.tin * m.pin + s.tout * m.pout) / 1000000 AS cost
               ) c""",
            """INSERT INTO billing_usagedaily (account_id, day, model_id, api_key_id, events,
                   input_tokens, output_tokens, images, cost, credits, prepaid, overage,
                   written_off, overage_input_tokens, overage_output_tokens, overage_images)
               SELECT account_id, (occurred_at AT TIME ZONE 'Africa/Algiers')::date, model_id,
                   api_key_id, count(*), sum(input_tokens), sum(output_tokens), sum(images),
                   sum(cost), sum(credits), sum(prepaid), sum(overage), sum(written_off),
                   coalesce(sum(input_tokens) FILTER (WHERE overage > 0), 0),
                   coalesce(sum(output_tokens) FILTER (WHERE overage > 0), 0),
                   coalesce(sum(images) FILTER (WHERE overage > 0), 0)
               FROM billing_usageevent GROUP BY 1, 2, 3, 4""",
        ]:
            cursor.execute(sql, params)
        for table in [
            "accounts_user",
            "accounts_account",
            "accounts_apikey",
            "billing_billingperiod",
        ]:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM billing_usagedaily")
        rollups = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size('billing_usageevent')")
        table_bytes = cursor.fetchone()[0]
    seconds = time.perf_counter() - start
    connection.close()
    return {"accounts": accounts, "rollups": rollups, "seconds": seconds, "bytes": table_bytes}


def _expect_ok(response, path: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{path}: HTTP {response.status_code}")


def _timed(call, repeat: int) -> list[float]:
    call()  # warm-up: connection, templates, caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1)]


def measure() -> dict:
    """Run in its own process: every request REPEAT times for both accounts, and checks."""
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Sum
    from django.test import Client
    from django.utils import timezone

    from accounts.keys import API_KEY_PREFIX, new_secret
    from accounts.models import Account, ApiKey, User
    from billing.models import BillingPeriod, UsageEvent
    from billing.periods import Month, local_date
    from billing.selectors import month_usage

    current = Month.current()
    today = local_date(timezone.now())
    staff = User.objects.create_superuser(email="staff@bench.dz", password="x-Secret-123")
    admin = Client()
    admin.force_login(staff)
    customers, bearers, periods, emails = {}, {}, {}, {}
    for label, pk in (("small", SMALL), ("big", BIG)):
        account = Account.objects.select_related("owner").get(pk=pk)
        customers[label] = Client()
        customers[label].force_login(account.owner)
        secret = new_secret(API_KEY_PREFIX)
        ApiKey.objects.create(
            account=account, name="bench", prefix=secret.prefix, key_hash=secret.hashed
        )
        bearers[label] = {"HTTP_AUTHORIZATION": f"Bearer {secret.raw}"}
        periods[label] = BillingPeriod.objects.get(account=account, month=current.first_day).pk
        emails[label] = account.owner.email

    def page(label, path, **params):
        def call():
            response = customers[label].get(path, params)
            _expect_ok(response, path)
            if response.streaming:
                b"".join(response.streaming_content)

        return call

    def api(label, path, **params):
        def call():
            response = customers[label].get(path, params, **bearers[label])
            _expect_ok(response, path)

        return call

    def staff_get(path, **params):
        def call():
            response = admin.get(path, params)
            _expect_ok(response, path)

        return call

    def both(make):
        return {label: make(label) for label in ("small", "big")}

    last_month = str(current.previous())
    requests = [
        (
            "/espace-client/consommation/",
            "customer",
            both(lambda a: page(a, "/espace-client/consommation/")),
        ),
        (
            "same, ?mois= last month",
            "customer",
            both(lambda a: page(a, "/espace-client/consommation/", mois=last_month)),
        ),
        (
            "CSV export, this month",
            "customer",
            both(lambda a: page(a, "/espace-client/consommation/export.csv")),
        ),
        (
            "GET /api/v1/usage/ (default range)",
            "customer",
            both(lambda a: api(a, "/api/v1/usage/")),
        ),
        (
            "GET /api/v1/usage/ over 61 days",
            "customer",
            both(
                lambda a: api(
                    a,
                    "/api/v1/usage/",
                    **{"from": str(today - timedelta(days=60)), "to": str(today)},
                )
            ),
        ),
        (
            "admin usage-event list (all accounts)",
            "admin",
            {"all": staff_get("/admin/billing/usageevent/")},
        ),
        (
            "same, current month (explicit)",
            "admin",
            {"all": staff_get("/admin/billing/usageevent/", mois=str(current))},
        ),
        (
            "same, search by a customer's e-mail",
            "admin",
            {
                label: staff_get("/admin/billing/usageevent/", q=emails[label])
                for label in ("small", "big")
            },
        ),
        (
            "admin period page of the account",
            "admin",
            {
                label: staff_get(f"/admin/billing/billingperiod/{periods[label]}/change/")
                for label in ("small", "big")
            },
        ),
        ("dashboard /espace-client/", "customer", both(lambda a: page(a, "/espace-client/"))),
        ("/api/v1/account/", "customer", both(lambda a: api(a, "/api/v1/account/"))),
    ]
    results = []
    for name, kind, calls in requests:
        row = {"name": name, "kind": kind}
        for label, call in calls.items():
            samples = _timed(call, REPEAT)
            row[label] = {"median": statistics.median(samples), "p95": _p95(samples)}
        results.append(row)

    # Correctness: what the page reads (rollups) is what the events say.
    problems = []
    for pk in (SMALL, BIG):
        usage = month_usage(account=Account.objects.get(pk=pk), month=current)
        events = UsageEvent.objects.filter(
            account_id=pk, occurred_at__gte=current.starts_at, occurred_at__lt=current.ends_at
        )
        exact = events.aggregate(cost=Sum("cost"))["cost"] or 0
        if usage.totals["cost"] != exact or usage.totals["calls"] != events.count():
            problems.append(
                f"account {pk}: rollups {usage.totals['calls']} calls {usage.totals['cost']} DZD"
                f" != events {events.count()} calls {exact} DZD"
            )
    connection.close()
    return {
        "results": results,
        "problems": problems,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(*args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, *args],
        cwd=ROOT,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench_reads {args[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _ms(value: dict | None) -> str:
    return "–" if value is None else f"{value['median']:.0f} / {value['p95']:.0f}"


def main() -> int:
    print(
        f"Usage reads on PostgreSQL ({DATABASE_URL.rsplit('/', 1)[-1]}), {os.cpu_count()} cores, "
        f"{REPEAT} repeats; ms as median / p95"
    )
    failed = False
    for n in SIZES:
        recreate_database()
        filled = run_child("--populate", str(n))
        print(
            f"\nN={n:,} events, {filled['accounts']:,} accounts (big: {n // 5:,} events this "
            f"month), {filled['rollups']:,} rollup rows; filled in {filled['seconds']:.0f} s; "
            f"events table {filled['bytes'] / n:.0f} bytes per event",
            flush=True,
        )
        measured = run_child("--measure")
        print(f"{'request':<42} {'small':>12} {'big':>12} {'ratio p95':>10}  target")
        for row in measured["results"]:
            small, big = row.get("small"), row.get("big") or row.get("all")
            ratio = big["p95"] / small["p95"] if small and small["p95"] else None
            if row["kind"] == "customer":
                ok = big["p95"] <= TARGET_CUSTOMER_MS and (ratio or 0) <= TARGET_RATIO
            else:
                ok = big["p95"] <= TARGET_ADMIN_MS
            print(
                f"{row['name']:<42} {_ms(small):>12} {_ms(big):>12} "
                f"{'' if ratio is None else f'{ratio:.2f}':>10}  {'ok' if ok else 'over'}"
            )
        print(f"peak RSS: measuring process {measured['peak_rss_mb']:.0f} MB")
        if measured["problems"]:
            failed = True
            print(f"N={n}: WRONG: {'; '.join(measured['problems'])}")
    print(
        f"Targets: customer reads ≤ {TARGET_CUSTOMER_MS} ms p95 (big, 10 M) and big/small ≤ "
        f"{TARGET_RATIO}; admin list ≤ {TARGET_ADMIN_MS} ms. {'FAILED' if failed else 'checks OK'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--populate":
        print(json.dumps(populate(int(sys.argv[2]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--measure":
        print(json.dumps(measure()))
    else:
        sys.exit(main())
