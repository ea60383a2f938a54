"""The store's grouped calls (one round trip each on PostgreSQL) against its single ones, on
both implementations: references, lock, record (issue 10: the metering's hot path)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.metering.ledger import PostgresLedger
from billing.metering.ledger.base import Totals
from billing.metering.ledger.postgres import COPY_MIN
from billing.metering.rows import BalanceTotals, PeriodTotals, SpendTotals
from billing.models import (
    AlertSettings,
    BillingPeriod,
    KeySpend,
    PrepaidBalance,
    UsageDaily,
    UsageEvent,
)
from tests.billing.metering.test_ledger_contract import NOVEMBER, row
from tests.billing.metering.test_ledger_contract import key as key
from tests.billing.metering.test_ledger_contract import ledger as ledger
from tests.billing.metering.test_ledger_contract import period as period

pytestmark = pytest.mark.django_db
D = Decimal
FIRST = date(2026, 11, 1)


def test_references_are_the_keys_and_the_prices(ledger, key):
    keys, prices = ledger.references([key.key_hash, "0" * 64], ["gpt-4.1", "nope"])

    assert keys == ledger.keys([key.key_hash])
    assert sorted(prices) == sorted(ledger.prices(["gpt-4.1"]))


def test_keys_carry_the_accounts_alert_thresholds_or_none_for_the_defaults(ledger, key):
    (before,) = ledger.keys([key.key_hash])
    AlertSettings.objects.create(account=key.account, credits=[50], payg_cap=[], key_budget=[90])

    (after,) = ledger.keys([key.key_hash])

    assert (before.alert_credits, before.alert_payg_cap, before.alert_key_budget) == (None,) * 3
    assert (after.alert_credits, after.alert_payg_cap, after.alert_key_budget) == ([50], [], [90])


def test_lock_takes_the_periods_the_spends_and_the_balances(ledger, key, period):
    PrepaidBalance.objects.create(account=key.account, balance=D("4.50"))

    with transaction.atomic():
        locked = ledger.lock(
            {(key.account_id, NOVEMBER)}, {(key.pk, FIRST)}, {key.account_id, 999_999}
        )

    assert [p.pk for p in locked.periods] == [period.pk]
    assert locked.payg_now[key.account_id][0] is True
    assert [(s.api_key_id, s.month, s.charged) for s in locked.spends] == [(key.pk, FIRST, 0)]
    assert locked.balances == {key.account_id: D("4.50")}


def _totals(key, period, spend_id, consumed, *, spends=True, balances=True):
    return Totals(
        [PeriodTotals(period.pk, D(consumed), D(0), D(0), D(0))],
        [SpendTotals(spend_id, D(consumed))] if spends else [],
        [BalanceTotals(key.account_id, D("1.25"))] if balances else [],
    )


@pytest.mark.parametrize("new", [True, False])
@pytest.mark.parametrize("count", [1, 60])  # one INSERT; COPY on PostgreSQL
# The statement leaves out a part with nothing to write: each one written or left as it was.
@pytest.mark.parametrize(("spends", "balances"), [(True, True), (True, False), (False, False)])
def test_record_writes_events_rollups_and_totals(ledger, key, period, new, count, spends, balances):
    PrepaidBalance.objects.create(account=key.account, balance=D("9"))
    rows = [row(key, period, f"e{n}") for n in range(count)]
    with transaction.atomic():
        (spend,) = ledger.lock(set(), {(key.pk, FIRST)}, {key.account_id}).spends
        totals = _totals(key, period, spend.id, "7.0000001", spends=spends, balances=balances)
        inserted = ledger.record(rows, totals, new=new)

    assert inserted == count == UsageEvent.objects.count()
    assert UsageDaily.objects.get().events == count
    assert BillingPeriod.objects.get(pk=period.pk).consumed == D("7.0000001")
    assert KeySpend.objects.get().charged == (D("7.0000001") if spends else 0)
    assert PrepaidBalance.objects.get().balance == (D("1.25") if balances else D("9"))


@pytest.mark.parametrize("count", [2, 60])  # one INSERT; COPY on PostgreSQL
def test_record_of_new_events_meeting_a_recorded_key_reports_fewer(ledger, key, period, count):
    ledger.insert_events([row(key, period, "taken")])
    rows = [row(key, period, f"new-{n}") for n in range(count - 1)] + [row(key, period, "taken")]

    with transaction.atomic():
        (spend,) = ledger.lock(set(), {(key.pk, FIRST)}, {key.account_id}).spends
        inserted = ledger.record(rows, _totals(key, period, spend.id, "3"), new=True)
        transaction.set_rollback(True)  # what the caller does

    # Fewer than sent: the INSERT skipped the recorded key; PostgreSQL's COPY inserted none.
    copied = isinstance(ledger, PostgresLedger) and count >= COPY_MIN
    assert inserted == (0 if copied else count - 1)
    assert UsageEvent.objects.count() == 1
    assert UsageDaily.objects.count() == 0
