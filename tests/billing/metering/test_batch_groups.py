"""A batch over many accounts is charged in groups of whole accounts, one transaction each
(metering/batch.py, issue 10): the answer and the ledger are those of one charge."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.metering import GROUP_EVENTS, batch, usage_record_batch
from billing.models import BillingPeriod, UsageEvent
from tests.billing.conftest import FaultyLedger, customer, image_event

pytestmark = pytest.mark.django_db
NOW = "2026-11-16 10:00 +01:00"


def candidate(index: int, account_id: int):
    return SimpleNamespace(index=index, key=SimpleNamespace(account_id=account_id))


@given(accounts=st.lists(st.integers(1, 12), max_size=80), size=st.integers(1, 30))
def test_groups_hold_whole_accounts_in_request_order(accounts, size):
    candidates = [candidate(n, a) for n, a in enumerate(accounts)]

    groups = batch.account_groups(candidates, size)

    flat = [c for group in groups for c in group]
    assert sorted(c.index for c in flat) == list(range(len(accounts)))
    owners = [{c.key.account_id for c in group} for group in groups]
    for n, accounts_of_group in enumerate(owners):  # an account lies in one group only
        assert all(accounts_of_group.isdisjoint(other) for other in owners[n + 1 :])
    for group in groups:  # an account's events keep the request order
        for account_id in {c.key.account_id for c in group}:
            mine = [c.index for c in group if c.key.account_id == account_id]
            assert mine == sorted(mine)
    assert all(len(group) >= size for group in groups[:-1])


def test_a_batch_below_the_group_size_is_one_transaction(freeze):
    freeze(NOW)
    keys = [customer(credits="20") for _ in range(3)]
    ledger = FaultyLedger(record=lambda real, call, *args, **kwargs: real(*args, **kwargs))

    usage_record_batch(events=[image_event(k, f"{n}") for n, k in enumerate(keys)], ledger=ledger)

    assert ledger.calls["record"] == 1
    assert GROUP_EVENTS >= 250


def test_groups_answer_in_request_order_and_allocate_each_account_in_order(freeze, monkeypatch):
    # Credits of 20 DZD, images of 8: each account's third image is split 4 + 4 written off.
    monkeypatch.setattr(batch, "GROUP_EVENTS", 2)
    freeze(NOW)
    a, b, c = (customer(credits="20") for _ in range(3))
    order = [a, b, a, c, b, a, c, c, b, a]
    events = [image_event(k, f"e{n}") for n, k in enumerate(order)]
    ledger = FaultyLedger(record=lambda real, call, *args, **kwargs: real(*args, **kwargs))

    result = usage_record_batch(events=events, ledger=ledger)

    assert ledger.calls["record"] == 3  # one transaction per account here
    assert [r.idempotency_key for r in result.results] == [e["idempotency_key"] for e in events]
    assert [r.status for r in result.results] == ["accepted"] * len(events)
    seen: dict[int, int] = {}
    for n, key in enumerate(order):
        seen[key.pk] = seen.get(key.pk, 0) + 1
        event = UsageEvent.objects.get(idempotency_key=f"e{n}")
        expected = {1: ("8", "0"), 2: ("8", "0"), 3: ("4", "4")}.get(seen[key.pk], ("0", "8"))
        assert (event.credits, event.written_off) == tuple(map(Decimal, expected))
    for key in (a, b, c):
        period = BillingPeriod.objects.get(account=key.account)
        assert (period.consumed, period.written_off) == (Decimal(20), 8 * order.count(key) - 20)


def test_a_group_that_fails_leaves_the_committed_ones_and_the_resend_charges_the_rest_once(
    freeze, monkeypatch
):
    monkeypatch.setattr(batch, "GROUP_EVENTS", 1)
    freeze(NOW)
    a, b = customer(credits="100"), customer(credits="100")
    events = [image_event(a, "a1"), image_event(b, "b1"), image_event(a, "a2")]

    def record(real, call, *args, **kwargs):
        if call == 2:  # the second group: b's
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    with pytest.raises(RuntimeError):
        usage_record_batch(events=events, ledger=FaultyLedger(record=record))
    assert sorted(UsageEvent.objects.values_list("idempotency_key", flat=True)) == ["a1", "a2"]

    resent = usage_record_batch(events=events)

    assert [r.status for r in resent.results] == ["duplicate", "accepted", "duplicate"]
    assert UsageEvent.objects.count() == 3
    assert BillingPeriod.objects.get(account=a.account).consumed == Decimal(16)
    assert BillingPeriod.objects.get(account=b.account).consumed == Decimal(8)
