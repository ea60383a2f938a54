"""Usage reads at scale: the requests of issue 13 for a small and a big account, on PostgreSQL.

For each size N (BENCH_EVENTS, default "100000,1000000"; "10000000" on request) the dedicated
database BENCH_READS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/iafactory_bench_reads)
is dropped, created, migrated and filled by bench/reads_data.py (N events by SQL, a fifth on one
big account this month, and their daily rollups); BENCH_REUSE=1 keeps a database already filled
with N events this month (only migrated and analysed: iterate on queries in seconds). A fresh
process then times each request (Django's test client, in process: view, ORM and database, no
network) REPEAT times and prints its median and p95 for the small and the big account, the ratio
big / small, and the process's peak RSS. Targets (issue 13, at 10 M events): customer-facing
reads ≤ 100 ms at p95 for the big account and ratio ≤ 2; the admin list ≤ 500 ms.
BENCH_SMOKE=1: one tiny size (2 000 events), two repeats, correctness checks only.

    .venv/bin/python bench/bench_reads.py      # or: make bench
    BENCH_EVENTS=10000000 BENCH_REUSE=1 .venv/bin/python bench/bench_reads.py
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.reads_data import existing_fill, populate, recreate_database, rollup_problems  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_READS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iafactory_bench_reads"
)
SMOKE = os.environ.get("BENCH_SMOKE", "") not in {"", "0"}
SIZES = [
    int(float(n))
    for n in os.environ.get("BENCH_EVENTS", "2000" if SMOKE else "100000,1000000").split(",")
]
REUSE = os.environ.get("BENCH_REUSE", "") not in {"", "0"}
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


def _expect_ok(response, path: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{path}: HTTP {response.status_code}")


def _timed(calls: dict, repeat: int) -> dict[str, list[float]]:
    """Each call `repeat` times, the accounts taking turns (small, big, small, …): on a shared
    machine a burst of load then slows both alike and the ratio stays meaningful."""
    samples = {label: [] for label in calls}
    for call in calls.values():
        call()  # warm-up: connection, templates, caches
    for _ in range(repeat):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            samples[label].append((time.perf_counter() - start) * 1000)
    return samples


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1)]


def measure() -> dict:
    """Run in its own process: every request REPEAT times for both accounts, and checks."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.keys import API_KEY_PREFIX, new_secret
    from accounts.models import Account, ApiKey, User
    from billing.models import BillingPeriod, UsageEvent
    from billing.periods import Month, local_date

    current = Month.current()
    today = local_date(timezone.now())
    staff = User.objects.filter(email="staff@bench.dz").first() or User.objects.create_superuser(
        email="staff@bench.dz", password="x-Secret-123"
    )
    ApiKey.objects.filter(name="bench", account_id__in=(SMALL, BIG)).delete()  # a reused db
    admin = Client()
    admin.force_login(staff)
    customers, bearers, periods, emails, idempotency = {}, {}, {}, {}, {}
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
        idempotency[label] = (
            UsageEvent.objects.filter(account=account, occurred_at__gte=current.starts_at)
            .values_list("idempotency_key", flat=True)
            .first()
        )

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

    def both(make, path, **params):
        return {label: make(label, path, **params) for label in ("small", "big")}

    usage, events = "/espace-client/consommation/", "/admin/billing/usageevent/"
    days_61 = {"from": str(today - timedelta(days=60)), "to": str(today)}
    customer = [
        ("/espace-client/consommation/", both(page, usage)),
        ("same, ?mois= last month", both(page, usage, mois=str(current.previous()))),
        ("CSV export, this month", both(page, f"{usage}export.csv")),
        ("GET /api/v1/usage/ (default range)", both(api, "/api/v1/usage/")),
        ("GET /api/v1/usage/ over 61 days", both(api, "/api/v1/usage/", **days_61)),
    ]
    admin_requests = [
        ("admin usage-event list (all accounts)", {"all": staff_get(events)}),
        ("same, current month (explicit)", {"all": staff_get(events, mois=str(current))}),
        (
            "same, search by a customer's e-mail",
            {label: staff_get(events, q=emails[label]) for label in ("small", "big")},
        ),
        ("same, exact idempotency key", {"all": staff_get(events, q=idempotency["big"])}),
        (
            "same, idempotency key + account filter",
            {
                label: staff_get(events, q=idempotency[label], compte=pk)
                for label, pk in (("small", SMALL), ("big", BIG))
            },
        ),
        (
            "admin period page of the account",
            {
                label: staff_get(f"/admin/billing/billingperiod/{pk}/change/")
                for label, pk in periods.items()
            },
        ),
    ]
    requests = [
        *((name, "customer", calls) for name, calls in customer),
        *((name, "admin", calls) for name, calls in admin_requests),
        ("dashboard /espace-client/", "customer", both(page, "/espace-client/")),
        ("/api/v1/account/", "customer", both(api, "/api/v1/account/")),
    ]
    load_before = os.getloadavg()[0]
    results = []
    for name, kind, calls in requests:
        row = {"name": name, "kind": kind}
        for label, samples in _timed(calls, REPEAT).items():
            row[label] = {"median": statistics.median(samples), "p95": _p95(samples)}
        results.append(row)

    problems = [problem for pk in (SMALL, BIG) for problem in rollup_problems(pk, current)]
    connection.close()
    return {
        "results": results,
        "problems": problems,
        "load": [load_before, os.getloadavg()[0]],
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


def _this_month() -> str:
    return datetime.now(ZoneInfo("Africa/Algiers")).strftime("%Y-%m")


def main() -> int:
    print(
        f"Usage reads on PostgreSQL ({DATABASE_URL.rsplit('/', 1)[-1]}), {os.cpu_count()} cores, "
        f"{REPEAT} repeats; ms as median / p95"
    )
    failed = False
    for n in SIZES:
        reuse = REUSE and existing_fill(DATABASE_URL, n=n, month=_this_month())
        if not reuse:
            recreate_database(DATABASE_URL)
        filled = run_child("--populate", str(n), "reuse" if reuse else "fresh")
        print(
            f"\nN={n:,} events, {filled['accounts']:,} accounts (big: {n // 5:,} events this "
            f"month), {filled['rollups']:,} rollup rows; filled in {filled['seconds']:.0f} s; "
            f"events table {filled['bytes'] / n:.0f} bytes per event",
            flush=True,
        )
        print(
            ("reused; " if filled["reused"] else "")
            + ", ".join(f"{step} {s:.0f} s" for step, s in filled["steps"].items()),
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
        print(
            f"peak RSS: measuring process {measured['peak_rss_mb']:.0f} MB; load average "
            f"(1 min) {measured['load'][0]:.1f} before, {measured['load'][1]:.1f} after"
        )
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
        print(
            json.dumps(
                populate(int(sys.argv[2]), database_url=DATABASE_URL, reuse=sys.argv[3] == "reuse")
            )
        )
    elif len(sys.argv) > 1 and sys.argv[1] == "--measure":
        print(json.dumps(measure()))
    else:
        sys.exit(main())
