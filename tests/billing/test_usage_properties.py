"""Property: whatever the events and pay-as-you-go switches, the ledger invariants hold and
every event is allocated as a plain sequential model of DESIGN.md says."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.metering import usage_record_batch
from billing.models import BillingPeriod, PayAsYouGoChange, Subscription, UsageEvent
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
steps = st.one_of(
    st.tuples(st.just("toggle")),
    st.tuples(st.just("batch"), st.lists(events, min_size=1, max_size=6)),
    st.tuples(st.just("replay"), st.integers(0, 1000)),
)


class Expected:
    """The sequential model: credits first, then overage if pay-as-you-go was on, else write-off."""

    def __init__(self, included: Decimal) -> None:
        self.included = included
        self.consumed = self.overage = self.written_off = Decimal(0)

    def allocate(self, cost: Decimal, payg: bool) -> tuple[Decimal, Decimal, Decimal]:
        credits = min(cost, self.included - self.consumed)
        rest = cost - credits
        overage, written_off = (rest, Decimal(0)) if payg else (Decimal(0), rest)
        self.consumed += credits
        self.overage += overage
        self.written_off += written_off
        return credits, overage, written_off


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
    script=st.lists(steps, min_size=1, max_size=12),
)
def test_random_event_sequences_keep_the_ledger_exact(credits, payg, script):
    with transaction.atomic():
        check_scenario(Decimal(credits), payg, script)
        transaction.set_rollback(True)


def check_scenario(credits, payg, script):
    plan = PlanFactory(included_credits=credits)
    account = AccountFactory(subscription__plan=plan, subscription__pay_as_you_go=payg)
    key = ApiKeyFactory(account=account)
    switches = [(START - timedelta(days=1), payg)]
    PayAsYouGoChange.objects.create(account=account, enabled=payg, changed_at=switches[0][0])
    Subscription.objects.filter(account=account).update(pay_as_you_go_changed_at=switches[0][0])
    expected = Expected(credits)
    sent, charged = [], {}
    clock = START

    for number, step in enumerate(script):
        clock += timedelta(hours=1)
        if step[0] == "toggle":
            payg = not payg
            switches.append((clock, payg))
            PayAsYouGoChange.objects.create(account=account, enabled=payg, changed_at=clock)
            Subscription.objects.filter(account=account).update(
                pay_as_you_go=payg, pay_as_you_go_changed_at=clock
            )
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
            payg_then = [state for at, state in switches if at <= occurred_at][-1]
            credits_part, overage, written_off = expected.allocate(cost, payg_then)
            row = UsageEvent.objects.get(account=account, idempotency_key=event["idempotency_key"])
            assert result.cost == cost
            assert (row.cost, row.credits, row.overage, row.written_off, row.pay_as_you_go) == (
                cost,
                credits_part,
                overage,
                written_off,
                payg_then,
            )
            sent.append(event)
            charged[event["idempotency_key"]] = cost

    period = BillingPeriod.objects.filter(account=account).first()
    if period is None:
        return
    rows = list(UsageEvent.objects.filter(period=period))
    assert period.consumed <= period.included_credits
    assert sum(r.cost for r in rows) == period.consumed + period.overage + period.written_off
    assert sum(r.overage for r in rows if not r.pay_as_you_go) == 0
    assert (period.consumed, period.overage, period.written_off) == (
        expected.consumed,
        expected.overage,
        expected.written_off,
    )
