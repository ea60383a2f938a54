"""Spending bounds under concurrency (PostgreSQL row locks; skipped on SQLite): a key's budget,
the pay-as-you-go ceiling and the prepaid balance never let a centime through."""

from decimal import Decimal

import pytest
from django.db.models import F, Sum

from billing.metering import usage_record_batch
from billing.models import BillingPeriod, KeySpend, PrepaidBalance, Subscription, UsageEvent
from billing.services.prepaid import prepaid_credit
from tests.billing.conftest import customer
from tests.billing.test_usage_concurrency import THREADS, deepseek_event, run_together
from tests.conftest import postgres_only

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, postgres_only()]

BATCHES, PER_BATCH = 3, 10


def _flood(key, n):
    for b in range(BATCHES):
        # Each event costs 0.07 + 0.000140 × tokens: about 1.05 DZD, none a round number.
        events = [
            deepseek_event(key, f"t{n}-b{b}-e{e}", 7_000 + 13 * n + e) for e in range(PER_BATCH)
        ]
        assert usage_record_batch(events=events).accepted == PER_BATCH


def _ledger_balances(account, threads=THREADS):
    period = BillingPeriod.objects.get(account=account)
    sums = UsageEvent.objects.filter(account=account).aggregate(
        cost=Sum("cost"),
        credits=Sum("credits"),
        prepaid=Sum("prepaid"),
        overage=Sum("overage"),
        off=Sum("written_off"),
    )
    assert UsageEvent.objects.filter(account=account).count() == threads * BATCHES * PER_BATCH
    assert sums["cost"] == (
        period.consumed + period.prepaid_used + period.overage + period.written_off
    )
    assert (sums["credits"], sums["prepaid"], sums["overage"], sums["off"]) == (
        period.consumed,
        period.prepaid_used,
        period.overage,
        period.written_off,
    )
    return period


def test_sixteen_writers_on_one_key_never_charge_beyond_its_budget():
    key = customer("100.00", payg=True)
    key.monthly_budget = Decimal("20.00")
    key.save(update_fields=["monthly_budget"])
    other = customer("100.00")  # another account's key, unbounded, in the same batches' rush

    run_together(lambda n: _flood(key if n % 4 else other, n))

    period = _ledger_balances(key.account, threads=THREADS * 3 // 4)
    spend = KeySpend.objects.get(api_key=key)
    charged = UsageEvent.objects.filter(api_key=key).aggregate(
        charged=Sum(F("cost") - F("written_off"))
    )["charged"]
    assert spend.charged == charged == Decimal("20.00")  # to the centime, not one beyond
    assert (period.consumed, period.overage) == (Decimal("20.00"), 0)
    assert KeySpend.objects.get(api_key=other).charged == Decimal("100.00") - (
        BillingPeriod.objects.get(account=other.account).remaining
    )


def test_sixteen_writers_against_a_ceiling_never_overrun_it():
    key = customer(None, payg=True)
    Subscription.objects.filter(account=key.account).update(payg_cap=Decimal("30.00"))

    run_together(lambda n: _flood(key, n))

    period = _ledger_balances(key.account)
    assert period.overage == Decimal("30.00")  # reached exactly, never passed
    assert period.written_off > 0
    assert period.consumed == period.prepaid_used == 0


def test_sixteen_writers_on_one_prepaid_balance_never_take_it_below_zero():
    key = customer(None, payg=False)
    prepaid_credit(account=key.account, amount=Decimal("25.00"), reason="recharge")

    def work(n):
        if n % 4 == 0:  # four threads recharge while the others spend
            for _ in range(BATCHES):
                prepaid_credit(account=key.account, amount=Decimal("5.00"), reason="recharge")
        else:
            _flood(key, n)

    run_together(work)

    balance = PrepaidBalance.objects.get(account=key.account).balance
    period = BillingPeriod.objects.get(account=key.account)
    events = UsageEvent.objects.filter(account=key.account)
    sums = events.aggregate(cost=Sum("cost"), prepaid=Sum("prepaid"), off=Sum("written_off"))
    assert balance >= 0
    assert balance + period.prepaid_used == Decimal("25.00") + 4 * BATCHES * Decimal("5.00")
    assert sums["prepaid"] == period.prepaid_used
    assert sums["cost"] == period.prepaid_used + period.written_off
    assert period.consumed == period.overage == 0
