"""Property: whatever the events, pay-as-you-go switches and ceilings, prepaid recharges and the
key's budget, the ledger invariants hold and every event is allocated as a plain sequential
model of DESIGN.md says (key budget, then credits, prepaid balance, overage up to the ceiling in
force at the event, else written off)."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.metering import usage_record_batch
from billing.models import (
    BillingPeriod,
    KeySpend,
    PayAsYouGoChange,
    PrepaidBalance,
    Subscription,
    UsageEvent,
)
from billing.services.prepaid import prepaid_credit
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
START = datetime(2026, 11, 2, tzinfo=ALGIERS)
NOW = datetime(2026, 11, 30, 12, tzinfo=ALGIERS)
MILLION = Decimal(1_000_000)

events = st.tuples(
    st.sampled_from(["flux-schnell", "deepseek-v3"]),
    st.integers(1, 4),  # images (a usage of nothing is rejected)
    st.integers(1, 300_000),  # input tokens
    st.integers(0, 300_000),  # output tokens
    st.integers(0, 180),  # minutes late
)
ceilings = st.none() | st.sampled_from(
    [Decimal("0"), Decimal("3.50"), Decimal("20"), Decimal("60")]
)
steps = st.one_of(
    st.tuples(st.just("toggle")),
    st.tuples(st.just("cap"), ceilings),
    st.tuples(st.just("recharge"), st.sampled_from([Decimal("0.01"), Decimal("2.5"), Decimal(9)])),
    st.tuples(st.just("batch"), st.lists(events, min_size=1, max_size=6)),
    st.tuples(st.just("replay"), st.integers(0, 1000)),
)


class Expected:
    """The sequential model: the part beyond the key's budget written off, then credits, the
    prepaid balance, overage if pay-as-you-go was on up to the ceiling then, else write-off."""

    def __init__(self, included: Decimal, budget: Decimal | None) -> None:
        self.included = included
        self.budget = budget
        self.balance = Decimal(0)
        self.consumed = self.prepaid = self.overage = self.written_off = Decimal(0)
        self.charged = Decimal(0)

    def allocate(self, cost: Decimal, payg: bool, cap: Decimal | None) -> tuple[Decimal, ...]:
        chargeable = cost if self.budget is None else min(cost, self.budget - self.charged)
        chargeable = max(chargeable, Decimal(0))
        credits = min(chargeable, self.included - self.consumed)
        prepaid = min(chargeable - credits, self.balance)
        rest = chargeable - credits - prepaid
        overage = Decimal(0)
        if payg:
            overage = rest if cap is None else min(rest, max(cap - self.overage, Decimal(0)))
        written_off = cost - credits - prepaid - overage
        self.consumed += credits
        self.balance -= prepaid
        self.prepaid += prepaid
        self.overage += overage
        self.written_off += written_off
        self.charged += credits + prepaid + overage
        return credits, prepaid, overage, written_off


def cost_of(model, images, input_tokens, output_tokens) -> Decimal:
    if model == "flux-schnell":
        return images * Decimal(8)
    return (input_tokens * Decimal(70) + output_tokens * Decimal(140)) / MILLION


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    credits=st.sampled_from(["0", "5", "12.5", "40"]),
    payg=st.booleans(),
    cap=ceilings,
    budget=st.none() | st.sampled_from([Decimal("4"), Decimal("25.50")]),
    script=st.lists(steps, min_size=1, max_size=12),
)
def test_random_event_sequences_keep_the_ledger_exact(credits, payg, cap, budget, script):
    with transaction.atomic():
        check_scenario(Decimal(credits), payg, cap, budget, script)
        transaction.set_rollback(True)


def check_scenario(credits, payg, cap, budget, script):
    plan = PlanFactory(included_credits=credits)
    account = AccountFactory(subscription__plan=plan, subscription__pay_as_you_go=payg)
    key = ApiKeyFactory(account=account, monthly_budget=budget)
    switches = [(START - timedelta(days=1), payg, cap)]
    PayAsYouGoChange.objects.create(
        account=account, enabled=payg, cap=cap, changed_at=switches[0][0]
    )
    Subscription.objects.filter(account=account).update(
        pay_as_you_go_changed_at=switches[0][0], payg_cap=cap
    )
    expected = Expected(credits, budget)
    sent, charged = [], {}
    clock = START

    for number, step in enumerate(script):
        clock += timedelta(hours=1)
        if step[0] in {"toggle", "cap"}:
            if step[0] == "toggle":
                payg = not payg
            else:
                cap = step[1]
            switches.append((clock, payg, cap))
            PayAsYouGoChange.objects.create(
                account=account, enabled=payg, cap=cap, changed_at=clock
            )
            Subscription.objects.filter(account=account).update(
                pay_as_you_go=payg, payg_cap=cap, pay_as_you_go_changed_at=clock
            )
            continue
        if step[0] == "recharge":
            prepaid_credit(account=account, amount=step[1], reason="test")
            expected.balance += step[1]
            continue
        if step[0] == "replay":
            if not sent:
                continue
            event = sent[step[1] % len(sent)]
            batch = usage_record_batch(events=[event], now=NOW)
            assert batch.results[0].status == "duplicate"
            assert batch.results[0].cost == charged[event["idempotency_key"]]
            continue
        batch_events = []
        for index, (model, images, input_tokens, output_tokens, late) in enumerate(step[1]):
            occurred_at = clock - timedelta(minutes=late)
            event = {
                "idempotency_key": f"s{number}-e{index}",
                "api_key": key.raw,
                "model": model,
                "occurred_at": occurred_at.isoformat(),
            }
            if model == "flux-schnell":
                event["images"] = images
            else:
                event["input_tokens"], event["output_tokens"] = input_tokens, output_tokens
            batch_events.append(event)
        batch = usage_record_batch(events=batch_events, now=NOW)
        assert batch.accepted == len(batch_events)
        for event, result, (model, images, input_tokens, output_tokens, late) in zip(
            batch_events, batch.results, step[1], strict=True
        ):
            cost = cost_of(model, images, input_tokens, output_tokens)
            occurred_at = clock - timedelta(minutes=late)
            payg_then, cap_then = [(on, c) for at, on, c in switches if at <= occurred_at][-1]
            parts = expected.allocate(cost, payg_then, cap_then)
            row = UsageEvent.objects.get(account=account, idempotency_key=event["idempotency_key"])
            assert result.cost == cost
            assert (row.cost, row.credits, row.prepaid, row.overage, row.written_off) == (
                cost,
                *parts,
            )
            assert row.pay_as_you_go == payg_then
            sent.append(event)
            charged[event["idempotency_key"]] = cost

    balance = PrepaidBalance.objects.filter(account=account).first()
    assert (balance.balance if balance else Decimal(0)) == expected.balance >= 0
    period = BillingPeriod.objects.filter(account=account).first()
    if period is None:
        return
    rows = list(UsageEvent.objects.filter(period=period))
    assert period.consumed <= period.included_credits
    assert sum(r.cost for r in rows) == (
        period.consumed + period.prepaid_used + period.overage + period.written_off
    )
    assert sum(r.overage for r in rows if not r.pay_as_you_go) == 0
    ceilings_seen = [c for _, on, c in switches if on]
    if ceilings_seen and None not in ceilings_seen:
        assert period.overage <= max(ceilings_seen)
    assert (period.consumed, period.prepaid_used, period.overage, period.written_off) == (
        expected.consumed,
        expected.prepaid,
        expected.overage,
        expected.written_off,
    )
    spend = KeySpend.objects.get(api_key=key, month=period.month)
    assert spend.charged == expected.charged == sum(r.cost - r.written_off for r in rows)
    if budget is not None:
        assert spend.charged <= budget
