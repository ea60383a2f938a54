"""Many writers on one account at once (PostgreSQL row locks; skipped on SQLite)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from billing.metering import batch, usage_record_batch
from billing.metering.rollups import ROLLUP_COLUMNS, rollups_of
from billing.models import BillingPeriod, UsageDaily, UsageEvent
from tests.billing.conftest import customer, text_event
from tests.conftest import postgres_only

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, postgres_only()]

THREADS = 16


def run_together(work, count=THREADS):
    """Start `count` threads on `work(n)` at the same instant; re-raise any failure."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def target(n):
        try:
            barrier.wait()
            results[n] = work(n)
        except Exception as error:  # reported by the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def assert_rollups_are_the_events_sums():
    """Retried and rolled-back attempts added nothing to the daily rollups."""
    maintained = sorted(UsageDaily.objects.values_list(*ROLLUP_COLUMNS))
    assert maintained == sorted(tuple(row) for row in rollups_of(UsageEvent.objects.all()))


def deepseek_event(key, idem, output_tokens):
    # deepseek-v3: 70 / 140 DZD per million tokens
    return text_event(
        key, idem, input_tokens=1000, output_tokens=output_tokens, model="deepseek-v3"
    )


@pytest.mark.parametrize("payg", [False, True])
def test_sixteen_writers_on_one_account_never_overspend_nor_lose_an_event(payg):
    key = customer("100.00", payg=payg)
    batches, per_batch = 5, 40

    def work(n):
        for b in range(batches):
            # Costs vary with the thread (0.07 + 0.000140 × tokens), none a round number.
            events = [
                deepseek_event(key, f"t{n}-b{b}-e{e}", 7_000 + 13 * n + e) for e in range(per_batch)
            ]
            batch = usage_record_batch(events=events)
            assert batch.accepted == per_batch

    run_together(work)

    period = BillingPeriod.objects.get(account=key.account)
    events = UsageEvent.objects.filter(account=key.account)
    sums = events.aggregate(
        cost=Sum("cost"), credits=Sum("credits"), overage=Sum("overage"), off=Sum("written_off")
    )
    assert events.count() == THREADS * batches * per_batch
    assert period.consumed == Decimal("100.00")
    assert sums["cost"] == period.consumed + period.overage + period.written_off
    assert sums["credits"] == period.consumed
    assert (sums["overage"], sums["off"]) == (period.overage, period.written_off)
    assert (period.overage > 0) is payg
    assert (period.written_off > 0) is not payg
    # Exactly one event crossed the limit: only it is split between credits and the rest.
    assert events.exclude(credits=0).exclude(overage=0, written_off=0).count() == 1
    assert_rollups_are_the_events_sums()


def test_the_same_event_sent_by_sixteen_requests_at_once_is_charged_once():
    key = customer("1000.00")
    events = [deepseek_event(key, f"same-{e}", 10_000 + e) for e in range(20)]

    batches = run_together(lambda n: usage_record_batch(events=events))

    assert sorted(batch.accepted for batch in batches) == [0] * (THREADS - 1) + [20]
    assert all(batch.duplicates == 20 for batch in batches if batch.accepted == 0)
    costs = {tuple(r.cost for r in batch.results) for batch in batches}
    assert len(costs) == 1
    period = BillingPeriod.objects.get(account=key.account)
    assert UsageEvent.objects.count() == 20
    assert period.consumed == UsageEvent.objects.aggregate(total=Sum("cost"))["total"]
    assert_rollups_are_the_events_sums()


@pytest.mark.parametrize("group_events", [batch.GROUP_EVENTS, 10])  # one transaction; one each
def test_overlapping_batches_in_opposite_orders_do_not_deadlock_or_double_charge(
    group_events, monkeypatch
):
    monkeypatch.setattr(batch, "GROUP_EVENTS", group_events)
    keys = [customer("50.00") for _ in range(4)]
    # 60 events an account: each group of the second case is a COPY too.
    events = [deepseek_event(k, f"x{e}", 100_000 + e) for k in keys for e in range(60)]

    def work(n):
        return usage_record_batch(events=events if n % 2 else events[::-1])

    batches = run_together(work)

    assert sum(batch.accepted for batch in batches) == len(events)
    assert UsageEvent.objects.count() == len(events)
    for key in keys:
        period = BillingPeriod.objects.get(account=key.account)
        cost = UsageEvent.objects.filter(account=key.account).aggregate(total=Sum("cost"))
        assert period.consumed + period.overage + period.written_off == cost["total"]
        assert period.consumed <= period.included_credits
    assert_rollups_are_the_events_sums()


def test_one_key_raced_into_different_periods_is_recorded_once():
    # Each request locks another month's period, so only the unique constraint can tell.
    key = customer("1000.00")

    def work(n):
        event = deepseek_event(key, "raced", 10_000)
        event["occurred_at"] = f"2026-{n % 10 + 1:02d}-15T12:00:00+01:00"
        return usage_record_batch(events=[event])

    batches = run_together(work)

    assert sum(batch.accepted for batch in batches) == 1
    assert UsageEvent.objects.count() == 1
    event = UsageEvent.objects.get()
    assert BillingPeriod.objects.filter(consumed__gt=0).get().pk == event.period_id
    assert BillingPeriod.objects.get(pk=event.period_id).consumed == event.cost
    statuses = {r.status for batch in batches for r in batch.results}
    assert statuses <= {"accepted", "duplicate", "rejected"}
