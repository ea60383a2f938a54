"""Usage metering throughput: events/s through the real HTTP endpoint (gunicorn + PostgreSQL).

Beside it, in the same run and against the same database: a raw-SQL baseline (psycopg doing the
fastest plain insert we can write: rows built beforehand, binary COPY + one UPDATE per batch, from
BENCH_RAW_CLIENTS connections, default 4 × cores; no HTTP, no rules; measured both with a batch in
one transaction and cut in account groups as the service does, the faster being the baseline)
and a bare DRF endpoint doing one insert and one update per request. Targets on 2 cores (issue
10): batches ≥ 20 000 events/s and ≥ 1/3 of the raw-SQL batch rate; single events ≥ 1/2 of the
bare DRF endpoint's rate.

Needs PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/iafactory_bench)
names a dedicated database that is dropped and created again on every run.
Each workload runs BENCH_ROUNDS times (default 3), interleaved, and the best round is reported:
on a shared machine the other rounds measure the neighbours. Knobs: BENCH_BATCHES (default 30
batches per round), BENCH_SINGLES (default 1000 requests per round), BENCH_WORKERS (gunicorn
workers, default 2 × cores), BENCH_CLIENTS (concurrent client threads, default 4).
BENCH_SMOKE=1: every workload once at a tiny size, targets not judged (the ledger check still
runs): the test suite runs it so a schema or API change that breaks the benchmark breaks CI.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import usage_baselines
import usage_load

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iafactory_bench"
)
SMOKE = os.environ.get("BENCH_SMOKE", "") not in {"", "0"}
BATCHES = int(os.environ.get("BENCH_BATCHES", "2" if SMOKE else "30"))
SINGLES = int(os.environ.get("BENCH_SINGLES", "5" if SMOKE else "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if SMOKE else "3"))
CORES = os.cpu_count() or 2
WORKERS = int(os.environ.get("BENCH_WORKERS", "1" if SMOKE else str(2 * CORES)))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2" if SMOKE else "4"))
ACCOUNTS = 3 if SMOKE else 200
BATCH_SIZE = 10 if SMOKE else 1000
REQUEST_TIMEOUT = 120  # seconds: the bench stops by itself even if the server hangs

SERVER_ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "bare_settings",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "DEBUG": "0",
    "HTTPS": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "CONN_MAX_AGE": "600",
    "LOG_LEVEL": "WARNING",
    "REDIS_URL": "",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    # The rate limits are not what is measured (and they would stop the load).
    "RATE_LIMIT_GATEWAY": "off",
    "RATE_LIMIT_PUBLIC": "off",
    "RATE_LIMIT_CUSTOMER": "off",
}


def recreate_database() -> None:
    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Fixture:
    token: str
    keys: list[str]  # raw keys of the many accounts
    hot_key: str
    bare_ids: dict  # account, period, key, model ids for the bare endpoint
    raw_ids: list[tuple[int, int, int]]  # (account, period, key) for the raw-SQL baseline
    model_id: int


def set_up_django_data() -> Fixture:
    os.environ.update({k: v for k, v in SERVER_ENV.items() if k != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "iafactory.settings"
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="iaf-bench-"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.gateway import gateway_token_create
    from accounts.models import User
    from accounts.services import account_create, api_key_create
    from billing.models import Subscription
    from billing.services.periods import current_period
    from catalog.models import AIModel, Plan

    call_command("migrate", verbosity=0)
    _, token = gateway_token_create(name="bench")
    starter = Plan.objects.get(slug="starter")
    expert = Plan.objects.get(slug="expert")

    def customer(n: int, plan) -> tuple[str, int, int, int]:
        user = User.objects.create_user(email=f"bench{n}@example.dz", password=None)
        account = account_create(owner=user, name=f"Bench {n}")
        Subscription.objects.filter(account=account).update(plan=plan)
        period = current_period(account=account)
        key, raw = api_key_create(account=account, name="bench")
        return raw, account.pk, period.pk, key.pk

    many = [customer(n, starter) for n in range(ACCOUNTS)]
    hot = customer(ACCOUNTS, expert)
    bare = customer(ACCOUNTS + 1, None)
    raw_accounts = [customer(ACCOUNTS + 2 + n, starter) for n in range(ACCOUNTS)]
    model_id = AIModel.objects.get(slug="gpt-4.1").pk
    from django.db import connections

    connections.close_all()
    return Fixture(
        token=token,
        keys=[raw for raw, *_ in many],
        hot_key=hot[0],
        bare_ids={"account": bare[1], "period": bare[2], "key": bare[3], "model": model_id},
        raw_ids=[(account, period, key) for _, account, period, key in raw_accounts],
        model_id=model_id,
    )


# --- the server and its load (usage_load.py) ---------------------------------------------------


def start_server(port: int):
    return usage_load.start_server(
        port=port,
        root=ROOT,
        env={**os.environ, **SERVER_ENV},
        workers=WORKERS,
        timeout=REQUEST_TIMEOUT,
    )


@dataclass
class Outcome:
    name: str
    requests: int
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def hammer(port: int, path: str, bodies: list[bytes], headers: dict, clients: int) -> float:
    """POST every body with `clients` threads; return the wall time. Any non-200 aborts, and
    so does a rejected event on the metering's endpoint."""
    return usage_load.hammer(
        port=port,
        path=path,
        bodies=bodies,
        headers=headers,
        clients=clients,
        timeout=REQUEST_TIMEOUT,
        all_accepted=path != BARE,
    )


BARE = "/bench/bare/"
RAW_BATCH = f"raw SQL, {BATCH_SIZE}-event batches"
# The same rows in transactions of whole accounts, as the service cuts a batch (GROUP_EVENTS).
RAW_GROUPS = "raw SQL, same, in account groups"
BATCH_MANY = f"HTTP, {BATCH_SIZE}-event batches, many accounts"
BATCH_HOT = f"HTTP, {BATCH_SIZE}-event batches, one hot account"
SINGLE_MANY = "HTTP, single events, many accounts"
SINGLE_HOT = "HTTP, single events, one hot account"
BARE_SINGLE = "bare DRF endpoint, single events"
USAGE = "/api/v1/gateway/usage/"


def event(key: str) -> dict:
    return {
        "idempotency_key": uuid.uuid4().hex,
        "api_key": key,
        "model": "gpt-4.1",
        "input_tokens": 500,
        "output_tokens": 1500,
    }


def batch_bodies(keys: list[str], count: int) -> list[bytes]:
    rng = random.Random(42)
    return [
        json.dumps({"events": [event(rng.choice(keys)) for _ in range(BATCH_SIZE)]}).encode()
        for _ in range(count)
    ]


def single_bodies(keys: list[str], count: int) -> list[bytes]:
    rng = random.Random(7)
    return [json.dumps({"events": [event(rng.choice(keys))]}).encode() for _ in range(count)]


# --- the raw-SQL baseline (usage_baselines.py) --------------------------------------------------

RAW_CLIENTS = int(os.environ.get("BENCH_RAW_CLIENTS", "2" if SMOKE else str(4 * CORES)))


def raw_sql(fixture: Fixture, batches: int, size: int, clients: int, group: int = 0) -> float:
    return usage_baselines.raw_sql(
        database_url=DATABASE_URL,
        ids=fixture.raw_ids,
        model_id=fixture.model_id,
        batches=batches,
        size=size,
        clients=clients,
        group=group,
    )


# --- the run ---------------------------------------------------------------------------------


def main() -> int:
    print(
        f"{CORES} cores, {WORKERS} gunicorn workers, {CLIENTS} client threads, "
        f"best of {ROUNDS} rounds",
        flush=True,
    )
    recreate_database()
    fixture = set_up_django_data()
    gateway = {"Authorization": f"Bearer {fixture.token}", "Content-Type": "application/json"}
    json_only = {"Content-Type": "application/json"}

    def bare_bodies(count: int) -> list[bytes]:
        return [
            json.dumps({**fixture.bare_ids, "idempotency_key": uuid.uuid4().hex}).encode()
            for _ in range(count)
        ]

    from billing.metering import GROUP_EVENTS

    group = 4 if SMOKE else GROUP_EVENTS  # the smoke run's batches of 10 still get cut
    best: dict[str, Outcome] = {}

    def keep(outcome: Outcome) -> None:
        if outcome.name not in best or outcome.rate > best[outcome.name].rate:
            best[outcome.name] = outcome

    port = usage_load.free_port()
    server = start_server(port)
    try:
        # Warm every worker (imports, connections) before measuring.
        warm_up = 2 if SMOKE else 50
        hammer(port, BARE, bare_bodies(warm_up), json_only, CLIENTS)
        hammer(port, USAGE, single_bodies(fixture.keys, warm_up), gateway, CLIENTS)
        for _ in range(ROUNDS):
            seconds = raw_sql(fixture, BATCHES, BATCH_SIZE, RAW_CLIENTS)
            keep(Outcome(RAW_BATCH, BATCHES, BATCHES * BATCH_SIZE, seconds))
            seconds = raw_sql(fixture, BATCHES, BATCH_SIZE, RAW_CLIENTS, group=group)
            keep(Outcome(RAW_GROUPS, BATCHES, BATCHES * BATCH_SIZE, seconds))
            seconds = raw_sql(fixture, SINGLES, 1, RAW_CLIENTS)
            keep(Outcome("raw SQL, single events", SINGLES, SINGLES, seconds))
            runs = [
                (BATCH_MANY, USAGE, batch_bodies(fixture.keys, BATCHES), gateway, True),
                (BATCH_HOT, USAGE, batch_bodies([fixture.hot_key], BATCHES), gateway, True),
                (SINGLE_MANY, USAGE, single_bodies(fixture.keys, SINGLES), gateway, False),
                (SINGLE_HOT, USAGE, single_bodies([fixture.hot_key], SINGLES), gateway, False),
                (BARE_SINGLE, BARE, bare_bodies(SINGLES), json_only, False),
            ]
            for name, path, work, headers, batched in runs:
                seconds = hammer(port, path, work, headers, CLIENTS)
                events = len(work) * (BATCH_SIZE if batched else 1)
                keep(Outcome(name, len(work), events, seconds))
        workers = usage_load.worker_pids(server.pid)
        rss_workers = max((usage_load.peak_rss_kib(pid) for pid in workers), default=0)
        rss_master = usage_load.peak_rss_kib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    check_ledger(fixture)
    report(list(best.values()), rss_workers, rss_master)
    return 0


def check_ledger(fixture: Fixture) -> None:
    """The run must leave the invariants true: every accepted event charged exactly once."""
    with psycopg.connect(DATABASE_URL) as conn:
        bad = conn.execute(
            """
            SELECT p.id FROM billing_billingperiod p
            LEFT JOIN billing_usageevent e ON e.period_id = p.id
            GROUP BY p.id
            HAVING p.consumed > p.included_credits
                OR COALESCE(SUM(e.cost), 0) <> p.consumed + p.overage + p.written_off
            """
        ).fetchall()
    if bad:
        raise SystemExit(f"ledger invariants broken on periods {bad[:5]}")


def report(outcomes: list[Outcome], rss_workers: int, rss_master: int) -> None:
    by_name = {o.name: o for o in outcomes}
    print(f"\n{'workload':<44} {'requests':>8} {'events':>8} {'seconds':>8} {'events/s':>10}")
    for o in outcomes:
        print(f"{o.name:<44} {o.requests:>8} {o.events:>8} {o.seconds:>8.2f} {o.rate:>10,.0f}")
    # The baseline is the faster of the two raw inserts.
    raw_batch = max(by_name[RAW_BATCH].rate, by_name[RAW_GROUPS].rate)
    bare = by_name[BARE_SINGLE].rate
    print()
    for name in (BATCH_MANY, BATCH_HOT):
        rate = by_name[name].rate
        verdict = "ok" if rate >= 20_000 and rate >= raw_batch / 3 else "BELOW TARGET"
        print(f"{name}: {rate / raw_batch:.2f} × raw SQL (target ≥ 0.33, ≥ 20 000/s) {verdict}")
    for name in (SINGLE_MANY, SINGLE_HOT):
        rate = by_name[name].rate
        verdict = "ok" if rate >= bare / 2 else "BELOW TARGET"
        print(f"{name}: {rate / bare:.2f} × bare DRF (target ≥ 0.50) {verdict}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"\npeak RSS: gunicorn worker {rss_workers / 1024:.0f} MiB, master "
        f"{rss_master / 1024:.0f} MiB, bench client {own / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    sys.exit(main())
