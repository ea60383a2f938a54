"""A batch over many accounts is charged in groups of whole accounts, one transaction each
(metering/batch.py, issue 10): the answer and the ledger are those of one charge."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import OperationalError
from hypothesis import given
from hypothesis import strategies as st

from billing.metering import GROUP_EVENTS, batch, usage_record_batch
from billing.models import BillingPeriod, UsageEvent
from tests.billing.conftest import USAGE, FaultyLedger, customer, image_event, post_events

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
    for group in filter(None, groups):  # no bigger than needed: closed once `size` is reached
        last_account = group[-1].key.account_id
        assert len([c for c in group if c.key.account_id != last_account]) < size
    order = [c.key.account_id for c in flat]
    assert order == sorted(order)  # accounts in id order, across and within groups


def test_a_batch_below_the_group_size_is_one_transaction(freeze):
    freeze(NOW)
    keys = [customer(credits="20") for _ in range(min(3, GROUP_EVENTS))]
    ledger = FaultyLedger(record=lambda real, call, *args, **kwargs: real(*args, **kwargs))

    usage_record_batch(events=[image_event(k, f"{n}") for n, k in enumerate(keys)], ledger=ledger)

    assert ledger.calls["record"] == 1


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
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.last_used_at is not None, b.last_used_at) == (True, None)  # a's group committed

    resent = usage_record_batch(events=events)

    assert [r.status for r in resent.results] == ["duplicate", "accepted", "duplicate"]
    assert UsageEvent.objects.count() == 3
    assert BillingPeriod.objects.get(account=a.account).consumed == Decimal(16)
    assert BillingPeriod.objects.get(account=b.account).consumed == Decimal(8)


def test_after_one_collision_the_batchs_next_groups_read_the_recorded_keys_first(
    freeze, monkeypatch
):
    # A resent batch: the first group's optimistic insert collides; the next groups start on
    # the careful path instead of paying a failed attempt each.
    monkeypatch.setattr(batch, "GROUP_EVENTS", 1)
    freeze(NOW)
    keys = [customer(credits="100") for _ in range(3)]
    usage_record_batch(events=[image_event(keys[0], "k0")])
    ledger = FaultyLedger(
        recorded=lambda real, call, pairs: real(pairs),
        record=lambda real, call, *args, **kwargs: real(*args, **kwargs),
    )

    result = usage_record_batch(
        events=[image_event(k, f"k{n}") for n, k in enumerate(keys)], ledger=ledger
    )

    assert [r.status for r in result.results] == ["duplicate", "accepted", "accepted"]
    # One failed insert (k0's group), then every group read its keys: none tried blind again.
    assert (ledger.calls["record"], ledger.calls["recorded"]) == (3, 3)


def test_over_http_a_failed_group_answers_500_and_the_resent_batch_charges_the_rest_once(
    gateway, freeze, monkeypatch
):
    monkeypatch.setattr(batch, "GROUP_EVENTS", 1)
    freeze(NOW)
    a, b = customer(credits="100"), customer(credits="100")
    events = [image_event(a, "a1"), image_event(b, "b1")]

    def record(real, call, *args, **kwargs):
        if call == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "ledger_for", lambda: FaultyLedger(record=record))
    gateway.raise_request_exception = False
    failed = gateway.post(USAGE, {"events": events}, format="json")
    monkeypatch.undo()
    resent = post_events(gateway, events)

    assert failed.status_code == 500
    assert resent.status_code == 200
    assert [r["status"] for r in resent.json()["results"]] == ["duplicate", "accepted"]
    assert UsageEvent.objects.count() == 2
    assert BillingPeriod.objects.get(account=b.account).consumed == Decimal(8)
