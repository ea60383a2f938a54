"""Demo data for `make run`: a customer in a given state, with a closed month (an invoice) and
this month's usage."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from accounts.services import api_key_create, customer_ensure
from catalog.models import Plan

from .metering import usage_record_batch
from .periods import Month
from .services.close import period_close
from .services.subscriptions import subscription_reset

# (model, input tokens, output tokens, images): typical calls of a small team.
CALLS = [
    ("gpt-4.1", 4_000, 1_000, 0),
    ("gpt-5.2", 3_000, 800, 0),
    ("claude-sonnet-4.5", 7_000, 1_300, 0),
    ("mistral-medium", 10_000, 2_000, 0),
    ("deepseek-v3", 16_000, 3_000, 0),
    ("flux-schnell", 0, 0, 2),
]


def _events(raw_key: str, start: datetime, end: datetime, per_day: int, rng, tag: str) -> list:
    events = []
    day = start
    while day + timedelta(hours=9) < end:
        for number in range(per_day):
            model, tokens_in, tokens_out, images = rng.choice(CALLS)
            at = day + timedelta(hours=9 + rng.randint(0, 9), minutes=rng.randint(0, 59))
            if at >= end:
                continue
            event = {
                "idempotency_key": f"demo-{tag}-{day:%Y%m%d}-{number}",
                "api_key": raw_key,
                "model": model,
                "occurred_at": at.isoformat(),
            }
            if images:
                event["images"] = images
            else:
                event["input_tokens"] = rng.randint(tokens_in // 2, tokens_in * 2)
                event["output_tokens"] = rng.randint(tokens_out // 2, tokens_out * 2)
            events.append(event)
        day += timedelta(days=1)
    return events


def demo_usage_history(*, account: Account, now: datetime | None = None) -> None:
    """Last month's usage, closed into an invoice, and this month's usage until now."""
    now = now or timezone.now()
    month = Month.of(now)
    rng = random.Random(account.pk)  # noqa: S311 (demo figures, not secrets)
    _key, raw = api_key_create(account=account, name="Application démo")
    previous = _events(raw, month.previous().starts_at, month.starts_at, 2, rng, "m1")
    current = _events(raw, month.starts_at, now - timedelta(minutes=10), 2, rng, "m0")
    for chunk in (previous, current):
        for start in range(0, len(chunk), 1000):
            usage_record_batch(events=chunk[start : start + 1000], now=now)
        if chunk is previous:
            period_close(month=month.previous())


@transaction.atomic
def demo_customer_setup(
    *,
    email: str,
    plan: Plan | None,
    pay_as_you_go: bool,
    since: date,
    name: str,
    password: str | None = None,
) -> tuple[Account, str]:
    """A verified customer in this state as if held since `since`, and a new API key (raw)."""
    account = customer_ensure(email=email, name=name, password=password)
    subscription_reset(account=account, plan=plan, pay_as_you_go=pay_as_you_go, since=since)
    _key, raw = api_key_create(account=account, name=f"Démo {timezone.localdate():%d/%m/%Y}")
    return account, raw
