"""A batch's time windows: usage before the account opened, ahead of midnight, a period made
early, and a pay-as-you-go switch committed while the batch is in flight."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.metering import usage_record_batch
from billing.models import BillingPeriod, Invoice, PrepaidBalance
from billing.periods import Month
from billing.services.close import periods_close_overdue
from billing.services.pay_as_you_go import payg_set
from billing.services.periods import period_get_or_create
from billing.services.prepaid import prepaid_credit
from billing.services.subscriptions import subscription_change
from catalog.models import Plan
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.conftest import FaultyLedger

pytestmark = pytest.mark.django_db


def _event(key, idempotency_key: str, occurred_at: str) -> dict:
    return {
        "idempotency_key": idempotency_key,
        "api_key": key.raw,
        "model": "gpt-4.1",
        "input_tokens": 1000,
        "output_tokens": 1000,
        "occurred_at": occurred_at,
    }


def test_usage_dated_before_the_account_opened_opens_no_old_month(freeze):
    freeze("2026-11-16 10:00 +01:00")
    expert = Plan.objects.get(slug="expert")
    key = ApiKeyFactory(
        account=AccountFactory(subscription__plan=expert, subscription__started_at=timezone.now())
    )

    batch = usage_record_batch(events=[_event(key, "mars", "2026-03-10T12:00:00+01:00")])
    freeze("2026-12-02 03:30 +01:00")
    for _ in range(3):
        periods_close_overdue()

    assert batch.results[0].status == "rejected"
    assert "avant l'ouverture du compte" in batch.results[0].error
    assert list(Invoice.objects.values_list("month", flat=True)) == [date(2026, 11, 1)]


def test_an_event_a_minute_ahead_across_midnight_does_not_open_next_month(freeze):
    freeze("2026-11-30 23:58 +01:00")
    key = ApiKeyFactory(account=AccountFactory(subscription__plan=Plan.objects.get(slug="expert")))

    batch = usage_record_batch(events=[_event(key, "tot", "2026-12-01T00:01:00+01:00")])

    assert batch.results[0].status == "rejected"
    assert "mois prochain" in batch.results[0].error
    assert not BillingPeriod.objects.filter(account=key.account, month=date(2026, 12, 1)).exists()


def test_a_period_made_early_does_not_apply_a_downgrade_before_its_time(freeze):
    freeze("2026-11-30 23:57 +01:00")
    account = AccountFactory(subscription__plan=Plan.objects.get(slug="expert"))
    subscription_change(account=account, plan=Plan.objects.get(slug="starter"))

    period_get_or_create(account=account, month=Month(2026, 12))

    account.subscription.refresh_from_db()
    assert account.subscription.plan.slug == "expert"  # still cancellable until midnight


def test_a_payg_switch_committed_during_a_batch_is_seen_under_the_lock(freeze):
    freeze("2026-11-16 10:00 +01:00")
    key = ApiKeyFactory(account=AccountFactory(subscription__plan=None))
    payg_set(account=key.account, enabled=True)
    freeze("2026-11-16 12:00 +01:00")

    def lock_then_switch_off(real, call, *wanted):
        if call == 1:  # the customer turns pay-as-you-go off while the batch is in flight
            freeze("2026-11-16 12:01 +01:00")
            payg_set(account=key.account, enabled=False)
        return real(*wanted)

    ledger = FaultyLedger(lock=lock_then_switch_off)

    batch = usage_record_batch(
        events=[_event(key, "juste-apres", "2026-11-16T12:02:00+01:00")], ledger=ledger
    )

    event = key.account.usage_events.get()
    assert batch.results[0].status == "accepted"
    assert (event.overage, event.written_off) == (0, event.cost)


def test_a_first_recharge_committed_during_a_batch_is_used_before_overage(freeze):
    freeze("2026-11-16 10:00 +01:00")
    key = ApiKeyFactory(account=AccountFactory(subscription__plan=None))
    payg_set(account=key.account, enabled=True, cap=None)
    freeze("2026-11-16 12:00 +01:00")

    def lock_then_recharge(real, call, *wanted):
        if call == 1:  # a recharge is paid while the batch is in flight (no balance row before)
            prepaid_credit(account=key.account, amount=Decimal("100.00"), reason="Recharge")
        return real(*wanted)

    ledger = FaultyLedger(lock=lock_then_recharge)

    batch = usage_record_batch(
        events=[_event(key, "apres-recharge", "2026-11-16T12:00:00+01:00")], ledger=ledger
    )

    event = key.account.usage_events.get()
    assert batch.results[0].status == "accepted"
    assert (event.prepaid, event.overage) == (event.cost, 0)
    assert PrepaidBalance.objects.get(account=key.account).balance == Decimal(100) - event.cost
