"""The daily rollups the ledger maintains equal the sums of the events, rebuilt from scratch."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.metering import usage_record_batch
from billing.metering.rollups import ROLLUP_COLUMNS, rollups_of
from billing.models import Subscription, UsageDaily, UsageEvent
from billing.periods import Month
from billing.services.rollups import usage_rollups_rebuild
from catalog.models import AIModel
from tests.accounts.factories import ApiKeyFactory
from tests.billing.conftest import customer

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOW = datetime(2026, 11, 30, 12, tzinfo=ALGIERS)

# (key index, model, images or input tokens, output tokens, hours before NOW)
events = st.tuples(
    st.integers(0, 2),
    st.sampled_from(["flux-schnell", "deepseek-v3", "gpt-4.1"]),
    st.integers(1, 200_000),
    st.integers(0, 200_000),
    st.integers(0, 70),  # crosses Algiers midnights (the day is Algiers', not UTC's)
)
steps = st.one_of(
    st.tuples(st.just("toggle"), st.integers(0, 1)),
    st.tuples(st.just("batch"), st.lists(events, min_size=1, max_size=8)),
    st.tuples(st.just("replay"), st.integers(0, 1000)),
)


def stored() -> list[tuple]:
    return sorted(UsageDaily.objects.values_list(*ROLLUP_COLUMNS))


def from_events() -> list[tuple]:
    """The sums of the events, computed here in Python: a second, independent recount."""
    return sorted(tuple(row) for row in rollups_of(UsageEvent.objects.all()))


def event(keys, number, index, spec):
    key_index, model, amount, output_tokens, hours = spec
    event = {
        "idempotency_key": f"s{number}-e{index}",
        "api_key": keys[key_index].raw,
        "model": model,
        "occurred_at": (NOW - timedelta(hours=hours, minutes=index)).isoformat(),
    }
    if model == "flux-schnell":
        event["images"] = 1 + amount % 3
    else:
        event["input_tokens"], event["output_tokens"] = amount, output_tokens
    return event


def run_workload(script) -> None:
    first = customer(credits="15", payg=True)
    # Two keys of one account (credits, then overage), one of an account without pay-as-you-go.
    keys = [first, ApiKeyFactory(account=first.account), customer(credits="5")]
    sent = []
    for number, step in enumerate(script):
        if step[0] == "toggle":
            account = keys[2 * step[1]].account
            subscription = Subscription.objects.get(account=account)
            Subscription.objects.filter(account=account).update(
                pay_as_you_go=not subscription.pay_as_you_go,
                pay_as_you_go_changed_at=NOW - timedelta(hours=80),
            )
        elif step[0] == "replay" and sent:
            usage_record_batch(events=[sent[step[1] % len(sent)]], now=NOW)
        elif step[0] == "batch":
            batch = [event(keys, number, index, spec) for index, spec in enumerate(step[1])]
            usage_record_batch(events=batch, now=NOW)
            sent.extend(batch)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.lists(steps, min_size=1, max_size=10))
def test_maintained_rollups_equal_the_rollups_rebuilt_from_the_events(script):
    with transaction.atomic():
        run_workload(script)
        maintained = stored()

        usage_rollups_rebuild()

        assert stored() == maintained
        assert maintained == from_events()
        transaction.set_rollback(True)


def test_a_mixed_workload_is_summed_per_algiers_day_model_and_key():
    key = customer(credits="10", payg=True)
    other_key = ApiKeyFactory(account=key.account)
    late_evening = datetime(2026, 11, 9, 23, 30, tzinfo=ZoneInfo("UTC"))  # 10 Nov in Algiers
    common = {"model": "gpt-4.1", "input_tokens": 500, "output_tokens": 1500}
    batch = [
        {"idempotency_key": f"a{n}", "api_key": key.raw, **common} for n in range(4)
    ] + [
        {"idempotency_key": "b", "api_key": other_key.raw, "model": "flux-schnell", "images": 2},
        {"idempotency_key": "c", "api_key": key.raw, "occurred_at": late_evening.isoformat(),
         **common},
    ]  # fmt: skip

    usage_record_batch(events=batch, now=NOW)
    usage_record_batch(events=[*batch[:1], {**batch[0], "idempotency_key": "a9"}], now=NOW)

    day = NOW.date()
    gpt, flux = (AIModel.objects.get(slug=slug).pk for slug in ("gpt-4.1", "flux-schnell"))
    # In request order over 10 credits: a0..a3 6.50 on credits; b 16 = 3.50 + 12.50 overage;
    # c 1.625 overage (its day is 10 November in Algiers); then a9 1.625 overage.
    assert stored() == [
        (key.account_id, date(2026, 11, 10), gpt, key.pk, 1, 500, 1500, 0,
         Decimal("1.625"), 0, 0, Decimal("1.625"), 0, 500, 1500, 0),
        (key.account_id, day, gpt, key.pk, 5, 2500, 7500, 0, Decimal("8.125"), Decimal("6.5"), 0,
         Decimal("1.625"), 0, 500, 1500, 0),
        (key.account_id, day, flux, other_key.pk, 1, 0, 0, 2, Decimal("16"), Decimal("3.5"),
         0, Decimal("12.5"), 0, 0, 0, 2),
    ]  # fmt: skip


def test_the_command_rebuilds_one_account_and_month_and_leaves_the_others():
    key = customer(credits="10")
    other = customer(credits="10")
    for one in (key, other):
        usage_record_batch(
            events=[{"idempotency_key": "x", "api_key": one.raw, "model": "flux-schnell",
                     "images": 1}],
            now=NOW,
        )  # fmt: skip
    UsageDaily.objects.update(events=7)
    out = StringIO()

    call_command("usage_rollups_rebuild", "--account", str(key.account_id), "--month", "2026-11",
                 stdout=out)  # fmt: skip

    assert dict(UsageDaily.objects.values_list("account_id", "events")) == {
        key.account_id: 1,
        other.account_id: 7,
    }
    assert "1 ligne(s) journalière(s)" in out.getvalue()
    assert usage_rollups_rebuild(month=Month(2026, 10)).rows == 0
