"""Property: whatever JSON one event of a batch holds, the gateway API never answers 5xx, the
valid event beside it is charged, and the ledger grows by exactly the costs it reports."""

import itertools
import json
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import BillingPeriod, UsageEvent
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db

USAGE = "/api/v1/gateway/usage/"
FIELDS = [
    "idempotency_key",
    "api_key",
    "model",
    "input_tokens",
    "output_tokens",
    "images",
    "occurred_at",
]
# Values that once reached the database or a helper unchecked, and their neighbours.
NASTY = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "\x1b[0m",
    " ",
    "\u00a0",
    "٥٠٠",
    "１５",
    "-0",
    "1e3",
    "9" * 40,
    "2026-11-16T09:00:00+16:00",
    "2026-11-16T09:00:00-15:59",
    "1999-12-31T12:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-15:00",
    "2026-11-16T09:00:00",
    "2026-11-16T10:04:00+01:00",
    "gpt-4.1",
    "flux-schnell",
    "claude-sonnet-4.5",
    10**10,
    10**10 + 1,
    2**31,
    2**63,
    -(2**63) - 1,
    10**400,
]
# st.text leaves lone surrogates out: they are mixed in by hand.
texts = st.lists(
    st.one_of(st.characters(), st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])),
    max_size=20,
).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.sampled_from(NASTY),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), texts), children, max_size=3),
    ),
    max_leaves=8,
)
# The hostile event: a valid one with fields replaced, removed or added, or not an object.
hostile_events = st.one_of(
    st.tuples(
        st.just("edit"),
        st.dictionaries(st.sampled_from(FIELDS), st.one_of(scalars, json_values), min_size=1),
        st.sets(st.sampled_from(FIELDS)),
        st.dictionaries(texts, json_values, max_size=2),
    ),
    st.tuples(st.just("whole"), json_values),
)

_counter = itertools.count()


def ledger(account) -> tuple[Decimal, Decimal]:
    events = UsageEvent.objects.filter(account=account).aggregate(total=Sum("cost"))["total"]
    periods = BillingPeriod.objects.filter(account=account)
    booked = sum((p.consumed + p.overage + p.written_off for p in periods), Decimal(0))
    return events or Decimal(0), booked


def has_lone_surrogate(value) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, list):
        return any(has_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    return False


@pytest.fixture
def key():
    plan = PlanFactory(included_credits=Decimal("50"))
    account = AccountFactory(subscription__plan=plan, subscription__pay_as_you_go=True)
    return ApiKeyFactory(account=account)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hostile=hostile_events, valid_first=st.booleans(), utf8=st.booleans())
def test_any_json_in_one_event_never_costs_the_batch(
    gateway, key, freeze, hostile, valid_first, utf8
):
    freeze("2026-11-16 10:00 +01:00")
    number = next(_counter)
    valid = {
        "idempotency_key": f"valid-{number}",
        "api_key": key.raw,
        "model": "gpt-4.1",
        "input_tokens": 500,
        "output_tokens": 1500,
    }
    if hostile[0] == "whole":
        other = hostile[1]
    else:
        _, replaced, removed, added = hostile
        other = {**valid, "idempotency_key": f"other-{number}", **added}
        for field in removed:
            other.pop(field, None)
        other.update(replaced)
    events = [valid, other] if valid_first else [other, valid]
    # Escaped (\ud800, what json.dumps writes) or raw UTF-8, where a lone surrogate cannot be
    # encoded at all: such a body is not UTF-8, refused whole.
    if utf8:
        body = json.dumps({"events": events}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    else:
        body = json.dumps({"events": events})
    before = ledger(key.account)

    response = gateway.generic("POST", USAGE, body, content_type="application/json")

    assert response.status_code < 500
    after = ledger(key.account)
    if utf8 and has_lone_surrogate(events):
        assert response.status_code == 400
        assert after == before
        return
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    mine = results[0 if valid_first else 1]
    assert (mine["status"], mine["cost"]) == ("accepted", "1.625")
    charged = sum(Decimal(r["cost"]) for r in results if r["status"] == "accepted")
    assert after[0] - before[0] == charged
    assert after[1] - before[1] == charged
