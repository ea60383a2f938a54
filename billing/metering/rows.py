"""The rows the ledger reads and writes, each declared once.

A key's fields, a price's fields and an event's columns are each one declaration: the SQL select
list, the ORM ``values_list`` and the unpacking all derive from it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple


class Key(NamedTuple):
    """What the batch needs of a customer key and its account's subscription."""

    key_hash: str
    pk: int
    account_id: int
    revoked_at: datetime | None
    last_used_at: datetime | None
    pay_as_you_go: bool
    pay_as_you_go_changed_at: datetime | None
    started_at: datetime | None  # the account's subscription: no usage in months before it
    expires_at: datetime | None
    monthly_budget: Decimal | None
    payg_cap: Decimal | None  # the subscription's ceiling now (the history has the others)
    has_prepaid: bool  # a prepaid balance row existed when the batch was read
    # The account's alert thresholds (lists of %), each None without a settings row (defaults).
    alert_credits: list[int] | None
    alert_payg_cap: list[int] | None
    alert_key_budget: list[int] | None

    @classmethod
    def from_row(cls, row) -> Key:
        key = cls._make(row)
        # No subscription row yet (LEFT JOIN): pay-as-you-go off.
        if key.pay_as_you_go is None:
            key = key._replace(pay_as_you_go=False)
        key = key._replace(has_prepaid=bool(key.has_prepaid))
        if isinstance(key.alert_credits, str):  # raw SQL reads jsonb as its text
            key = key._replace(
                alert_credits=json.loads(key.alert_credits),
                alert_payg_cap=json.loads(key.alert_payg_cap),
                alert_key_budget=json.loads(key.alert_key_budget),
            )
        return key


# Each Key field read: (ORM lookup from ApiKey, SQL expression over k = apikey, s = subscription,
# b = prepaid balance, a = alert settings).
KEY_SOURCES: dict[str, tuple[str, str]] = {
    "key_hash": ("key_hash", "k.key_hash"),
    "pk": ("pk", "k.id"),
    "account_id": ("account_id", "k.account_id"),
    "revoked_at": ("revoked_at", "k.revoked_at"),
    "last_used_at": ("last_used_at", "k.last_used_at"),
    "pay_as_you_go": ("account__subscription__pay_as_you_go", "s.pay_as_you_go"),
    "pay_as_you_go_changed_at": (
        "account__subscription__pay_as_you_go_changed_at",
        "s.pay_as_you_go_changed_at",
    ),
    "started_at": ("account__subscription__started_at", "s.started_at"),
    "expires_at": ("expires_at", "k.expires_at"),
    "monthly_budget": ("monthly_budget", "k.monthly_budget"),
    "payg_cap": ("account__subscription__payg_cap", "s.payg_cap"),
    "has_prepaid": ("account__prepaid__account_id", "b.account_id IS NOT NULL"),
    "alert_credits": ("account__alert_settings__credits", "a.credits"),
    "alert_payg_cap": ("account__alert_settings__payg_cap", "a.payg_cap"),
    "alert_key_budget": ("account__alert_settings__key_budget", "a.key_budget"),
}


class PriceRow(NamedTuple):
    model_id: int
    slug: str
    kind: str
    withdrawn_at: datetime | None
    effective_at: datetime
    input_per_million: Decimal | None
    output_per_million: Decimal | None
    per_image: Decimal | None


# Each PriceRow field read: (ORM lookup from ModelPrice, SQL expression over p = price, m = model).
PRICE_SOURCES: dict[str, tuple[str, str]] = {
    "model_id": ("model_id", "p.model_id"),
    "slug": ("model__slug", "m.slug"),
    "kind": ("model__kind", "m.kind"),
    "withdrawn_at": ("model__withdrawn_at", "m.withdrawn_at"),
    "effective_at": ("effective_at", "p.effective_at"),
    "input_per_million": ("input_per_million", "p.input_per_million"),
    "output_per_million": ("output_per_million", "p.output_per_million"),
    "per_image": ("per_image", "p.per_image"),
}

if tuple(KEY_SOURCES) != Key._fields or tuple(PRICE_SOURCES) != PriceRow._fields:
    raise ImportError("KEY_SOURCES / PRICE_SOURCES must follow Key / PriceRow field by field")


class EventRow(NamedTuple):
    """One usage event as inserted: the field names are the table's columns, in order."""

    account_id: int
    period_id: int
    api_key_id: int
    model_id: int
    idempotency_key: str
    fingerprint: str
    input_tokens: int
    output_tokens: int
    images: int
    occurred_at: datetime
    received_at: datetime
    input_price: Decimal | None
    output_price: Decimal | None
    image_price: Decimal | None
    cost: Decimal
    credits: Decimal
    prepaid: Decimal
    overage: Decimal
    written_off: Decimal
    pay_as_you_go: bool


EVENT_COLUMNS = EventRow._fields
DATETIME_COLUMNS = (EVENT_COLUMNS.index("occurred_at"), EVENT_COLUMNS.index("received_at"))


class PeriodTotals(NamedTuple):
    """A locked period's new totals, written as absolute values."""

    id: int
    consumed: Decimal
    prepaid_used: Decimal
    overage: Decimal
    written_off: Decimal


# Each account's pay-as-you-go (enabled, changed_at, cap), read under the period locks.
PaygNow = dict[int, tuple[bool, datetime | None, Decimal | None]]


class KeySpendRow(NamedTuple):
    """A key's spend of one month, locked, with the key's budget read under that lock."""

    id: int
    api_key_id: int
    month: date
    charged: Decimal
    budget: Decimal | None


class SpendTotals(NamedTuple):
    id: int
    charged: Decimal


class BalanceTotals(NamedTuple):
    account_id: int
    balance: Decimal
