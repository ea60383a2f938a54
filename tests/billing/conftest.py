"""Shared builders of the billing tests: customers, gateway events, a store with faults."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from billing.metering import ledger_for
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.catalog.factories import PlanFactory

USAGE = "/api/v1/gateway/usage/"


def customer(credits: str | None = "20", payg: bool = False):
    """A key of a new account whose formula grants `credits` (None: no formula)."""
    plan = PlanFactory(included_credits=Decimal(credits)) if credits is not None else None
    account = AccountFactory(subscription__plan=plan, subscription__pay_as_you_go=payg)
    return ApiKeyFactory(account=account)


def text_event(
    key,
    idem: str,
    input_tokens: int = 500,
    output_tokens: int = 1500,
    occurred_at: str | None = None,
    model: str = "gpt-4.1",
) -> dict:
    """A gateway event of a text model (gpt-4.1: 500 in + 1 500 out = 1.625 DZD)."""
    event = {
        "idempotency_key": idem,
        "api_key": key.raw,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }
    if occurred_at:
        event["occurred_at"] = occurred_at
    return event


def image_event(
    key, idem: str, images: int = 1, occurred_at: str | None = None, model: str = "flux-schnell"
) -> dict:
    """A gateway event of an image model (flux-schnell: 8 DZD an image)."""
    event = {"idempotency_key": idem, "api_key": key.raw, "model": model, "images": images}
    if occurred_at:
        event["occurred_at"] = occurred_at
    return event


def good(key, idem: str = "ok", **extra) -> dict:
    """A valid gpt-4.1 event (1.625 DZD), with fields added or replaced by `extra`."""
    return {
        "idempotency_key": idem,
        "api_key": key.raw,
        "model": "gpt-4.1",
        "input_tokens": 500,
        "output_tokens": 1500,
        **extra,
    }


def post_events(client, events: list):
    return client.post(USAGE, {"events": events}, format="json")


class FaultyLedger:
    """The database's own metering store, with some calls replaced to inject faults.

    Each override is called as ``override(real_method, call_number, *args)``; ``calls`` counts
    the calls of each overridden method. Pass it as ``usage_record_batch(..., ledger=...)``.
    """

    def __init__(self, **overrides: Callable) -> None:
        self.real = ledger_for()
        self.overrides = overrides
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str):
        real = getattr(self.real, name)
        override = self.overrides.get(name)
        if override is None:
            return real

        def call(*args, **kwargs):
            self.calls[name] += 1
            return override(real, self.calls[name], *args, **kwargs)

        return call
