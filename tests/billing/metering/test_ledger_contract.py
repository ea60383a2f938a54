"""One contract, run against every metering store: the portable ORM one on whatever database
runs the tests, the PostgreSQL one when it is PostgreSQL."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import ApiKey
from billing.metering.ledger import OrmLedger, PostgresLedger
from billing.metering.ledger.base import Totals
from billing.metering.ledger.postgres import COPY_MIN
from billing.metering.rollups import ROLLUP_COLUMNS, RollupRow, rollups_of
from billing.metering.rows import BalanceTotals, EventRow, PeriodTotals, SpendTotals
from billing.models import (
    BillingPeriod,
    KeySpend,
    PrepaidBalance,
    Subscription,
    UsageDaily,
    UsageEvent,
)
from billing.periods import Month
from catalog.models import AIModel
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.conftest import customer
from tests.billing.factories import BillingPeriodFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOVEMBER = Month(2026, 11)
OCCURRED = datetime(2026, 11, 10, 12, 30, 15, 123456, tzinfo=ALGIERS)
RECEIVED = datetime(2026, 11, 10, 12, 31, tzinfo=ALGIERS)


@pytest.fixture(params=["orm", "postgres"])
def ledger(request):
    if request.param == "postgres":
        if connection.vendor != "postgresql":
            pytest.skip("the PostgreSQL store needs PostgreSQL (set DATABASE_URL)")
        return PostgresLedger()
    return OrmLedger()


def row(key, period, idem, cost="1.625", overage="0", written_off="0", prepaid="0"):
    """An event row; its cost on credits but for the prepaid, overage and written off parts."""
    return EventRow(
        account_id=key.account_id,
        period_id=period.pk,
        api_key_id=key.pk,
        model_id=AIModel.objects.get(slug="gpt-4.1").pk,
        idempotency_key=idem,
        fingerprint=f"fp-{idem}",
        input_tokens=500,
        output_tokens=1500,
        images=0,
        occurred_at=OCCURRED,
        received_at=RECEIVED,
        input_price=Decimal("250.0000"),
        output_price=Decimal("1000.0000"),
        image_price=None,
        cost=Decimal(cost),
        credits=Decimal(cost) - Decimal(prepaid) - Decimal(overage) - Decimal(written_off),
        prepaid=Decimal(prepaid),
        overage=Decimal(overage),
        written_off=Decimal(written_off),
        pay_as_you_go=Decimal(overage) > 0,
    )


@pytest.fixture
def key():
    return customer(credits="20", payg=True)


@pytest.fixture
def period(key):
    return BillingPeriodFactory(account=key.account, month=date(2026, 11, 1))


def test_keys_come_with_their_subscription_and_unknown_hashes_are_absent(ledger, key):
    (found,) = ledger.keys([key.key_hash, "0" * 64])

    assert (found.pk, found.account_id, found.key_hash) == (key.pk, key.account_id, key.key_hash)
    assert (found.revoked_at, found.pay_as_you_go) == (None, True)
    assert found.started_at == key.account.subscription.started_at
    assert (found.expires_at, found.monthly_budget, found.payg_cap, found.has_prepaid) == (
        None,
        None,
        None,
        False,
    )


def test_keys_carry_budget_expiry_ceiling_and_whether_a_balance_exists(ledger, key):
    expiry = datetime(2026, 12, 1, tzinfo=ALGIERS)
    ApiKey.objects.filter(pk=key.pk).update(monthly_budget=Decimal("12.50"), expires_at=expiry)
    Subscription.objects.filter(account=key.account).update(payg_cap=Decimal("300.00"))
    PrepaidBalance.objects.create(account=key.account, balance=Decimal("0"))

    (found,) = ledger.keys([key.key_hash])

    assert (found.expires_at, found.monthly_budget, found.payg_cap, found.has_prepaid) == (
        expiry,
        Decimal("12.50"),
        Decimal("300.00"),
        True,
    )


def test_key_spends_are_created_at_zero_and_locked_with_the_budget(ledger, key):
    ApiKey.objects.filter(pk=key.pk).update(monthly_budget=Decimal("40.00"))
    other = ApiKeyFactory(account=key.account)
    KeySpend.objects.create(api_key=other, month=date(2026, 11, 1), charged=Decimal("3.5"))
    wanted = {(other.pk, date(2026, 11, 1)), (key.pk, date(2026, 11, 1))}

    with transaction.atomic():
        rows = ledger.lock_key_spends(wanted)
        ledger.lock_key_spends(wanted)  # again: no second row
        ledger.update_key_spends([SpendTotals(rows[0].id, Decimal("7.0000001"))])

    assert {(r.api_key_id, r.month, r.charged, r.budget) for r in rows} == {
        (other.pk, date(2026, 11, 1), Decimal("3.5"), None),
        (key.pk, date(2026, 11, 1), Decimal("0"), Decimal("40.00")),
    }
    assert KeySpend.objects.count() == 2
    assert KeySpend.objects.get(pk=rows[0].id).charged == Decimal("7.0000001")
    assert ledger.lock_key_spends(set()) == []


def test_write_totals_writes_periods_spends_and_balances_together(ledger, key, period):
    PrepaidBalance.objects.create(account=key.account, balance=Decimal("10.00"))
    with transaction.atomic():
        (spend,) = ledger.lock_key_spends({(key.pk, date(2026, 11, 1))})
        ledger.lock_balances({key.account_id})

        ledger.write_totals(
            [PeriodTotals(period.pk, Decimal(20), Decimal("9.5"), Decimal("1.25"), Decimal(0))],
            [SpendTotals(spend.id, Decimal("30.75"))],
            [BalanceTotals(key.account_id, Decimal("0.5"))],
        )
        ledger.write_totals([], [], [])  # nothing to write: nothing changes

    period.refresh_from_db()
    assert (period.consumed, period.prepaid_used, period.overage) == (
        Decimal(20),
        Decimal("9.5"),
        Decimal("1.25"),
    )
    assert KeySpend.objects.get(pk=spend.id).charged == Decimal("30.75")
    assert PrepaidBalance.objects.get(account=key.account).balance == Decimal("0.5")


def test_balances_are_locked_when_they_exist_and_updated_exactly(ledger, key):
    other = customer(credits="50")
    PrepaidBalance.objects.create(account=key.account, balance=Decimal("10.00"))

    with transaction.atomic():
        found = ledger.lock_balances({key.account_id, other.account_id})
        ledger.update_balances([BalanceTotals(key.account_id, Decimal("8.3749999"))])

    assert found == {key.account_id: Decimal("10.00")}
    assert PrepaidBalance.objects.get(account=key.account).balance == Decimal("8.3749999")
    assert not PrepaidBalance.objects.filter(account=other.account).exists()
    assert ledger.lock_balances(set()) == {}


def test_prices_are_every_row_of_the_named_models(ledger):
    rows = ledger.prices(["gpt-4.1", "no-such-model"])

    model = AIModel.objects.get(slug="gpt-4.1")
    assert {(r.model_id, r.slug, r.kind) for r in rows} == {(model.pk, "gpt-4.1", "text")}
    assert len(rows) == model.prices.count()
    assert all(isinstance(r.input_per_million, Decimal) for r in rows)


def test_lock_returns_the_existing_periods_in_pk_order_with_the_payg_state(ledger, key, period):
    other = customer(credits="50")
    other_period = BillingPeriodFactory(account=other.account, month=date(2026, 11, 1))
    wanted = {
        (other.account_id, NOVEMBER),
        (key.account_id, NOVEMBER),
        (key.account_id, Month(2026, 10)),  # missing: not returned, not created
    }

    with transaction.atomic():
        periods, payg = ledger.lock_periods(wanted)

    assert [p.pk for p in periods] == sorted([period.pk, other_period.pk])
    mine = next(p for p in periods if p.pk == period.pk)
    assert (mine.account_id, mine.included_credits, mine.consumed) == (
        key.account_id,
        Decimal("20.00"),
        Decimal("0"),
    )
    assert payg[key.account_id][0] is True
    assert payg[other.account_id][0] is False


@pytest.mark.parametrize("count", [1, COPY_MIN])  # a multi-row INSERT, and COPY on PostgreSQL
def test_inserted_events_are_stored_exactly(ledger, key, period, count):
    rows = [
        row(key, period, f"e{n}", cost="9.0000001", written_off="9.0000001") for n in range(count)
    ]

    ledger.insert_events(rows)

    stored = UsageEvent.objects.order_by("idempotency_key").first()
    assert UsageEvent.objects.count() == count
    assert (stored.cost, stored.written_off, stored.occurred_at) == (
        Decimal("9.0000001"),
        Decimal("9.0000001"),
        OCCURRED,
    )
    assert (stored.input_price, stored.image_price, stored.received_at) == (
        Decimal("250"),
        None,
        RECEIVED,
    )


@pytest.mark.parametrize("count", [1, COPY_MIN])
def test_inserting_a_recorded_key_raises_an_integrity_error(ledger, key, period, count):
    ledger.insert_events([row(key, period, "taken")])
    rows = [row(key, period, f"new-{n}") for n in range(count - 1)] + [row(key, period, "taken")]

    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.insert_events(rows)

    assert UsageEvent.objects.count() == 1


def test_insert_new_skips_recorded_keys_and_reports_how_many_were_new(ledger, key, period):
    ledger.insert_events([row(key, period, "taken")])

    inserted = ledger.insert_new_events(
        [row(key, period, "a"), row(key, period, "taken", cost="99"), row(key, period, "b")]
    )

    assert inserted == 2
    assert sorted(UsageEvent.objects.values_list("idempotency_key", "cost")) == [
        ("a", Decimal("1.625")),
        ("b", Decimal("1.625")),
        ("taken", Decimal("1.625")),
    ]


def test_recorded_reads_exact_account_and_key_pairs(ledger, key, period):
    other = ApiKeyFactory(account=AccountFactory())
    other_period = BillingPeriodFactory(account=other.account, month=date(2026, 11, 1))
    ledger.insert_events([row(key, period, "x", cost="3.5"), row(other, other_period, "y")])

    found = ledger.recorded({(key.account_id, "x"), (key.account_id, "y"), (other.account_id, "z")})

    assert found == {(key.account_id, "x"): ("fp-x", Decimal("3.5"))}
    assert ledger.recorded(set()) == {}


@pytest.mark.parametrize("several", [False, True])
def test_update_writes_the_periods_totals_exactly(ledger, key, period, several):
    other = customer(credits="50")
    other_period = BillingPeriodFactory(account=other.account, month=date(2026, 11, 1))
    totals = [
        PeriodTotals(
            period.pk, Decimal("20.00"), Decimal("2.5"), Decimal("1.0000001"), Decimal("0.375")
        )
    ]
    if several:
        totals.append(
            PeriodTotals(other_period.pk, Decimal("3.25"), Decimal(0), Decimal(0), Decimal("7"))
        )

    ledger.update_periods(totals)

    period.refresh_from_db()
    other_period.refresh_from_db()
    assert (period.consumed, period.prepaid_used, period.overage, period.written_off) == (
        Decimal("20.00"),
        Decimal("2.5"),
        Decimal("1.0000001"),
        Decimal("0.375"),
    )
    expected_other = (Decimal("3.25"), 0, Decimal("7")) if several else (0, 0, 0)
    assert (other_period.consumed, other_period.overage, other_period.written_off) == (
        expected_other
    )
    assert BillingPeriod.objects.count() == 2


def stored_rollups():
    return sorted(
        UsageDaily.objects.values_list(
            "account_id", "day", "events", "input_tokens", "cost", "credits", "overage",
            "written_off", "overage_input_tokens", "overage_output_tokens",
        )
    )  # fmt: skip


def test_upsert_creates_rollups_then_adds_to_them_exactly(ledger, key, period):
    first = [row(key, period, "a", cost="1.0000000001"), row(key, period, "b", overage="0.5")]
    second = [row(key, period, "c", cost="2", written_off="2")]
    late = row(key, period, "d")._replace(
        occurred_at=datetime(2026, 11, 30, 23, 30, tzinfo=ALGIERS)
    )

    ledger.upsert_rollups(rollups_of(first))
    ledger.upsert_rollups(rollups_of([*second, late]))

    assert stored_rollups() == [
        (key.account_id, date(2026, 11, 10), 3, 1500, Decimal("4.6250000001"),
         Decimal("2.1250000001"), Decimal("0.5"), Decimal("2"), 500, 1500),
        (key.account_id, date(2026, 11, 30), 1, 500, Decimal("1.625"), Decimal("1.625"),
         Decimal("0"), Decimal("0"), 0, 0),
    ]  # fmt: skip


@pytest.mark.parametrize("count", [4, COPY_MIN])  # summed by the database; by Python (COPY)
def test_recorded_events_add_the_same_rollups_as_the_python_sums(ledger, key, period, count):
    # Around Algiers' midnight, over two keys, on top of rollups already stored, with every
    # amount (credits, prepaid, overage, written off) and images with and without overage:
    # every field of RollupRow, whichever side computes it.
    other_key = ApiKeyFactory(account=key.account)
    instants = [
        datetime(2026, 11, 10, 23, 59, 59, 999999, tzinfo=ALGIERS),
        datetime(2026, 11, 11, 0, 0, tzinfo=ALGIERS),
        datetime(2026, 11, 10, 22, 59, 59, tzinfo=ZoneInfo("UTC")),
    ]
    splits = [
        {"overage": "0.625"},
        {"prepaid": "0.5", "written_off": "0.25"},
        {"overage": "0.125", "written_off": "1"},
        {},
    ]

    def event(name: str, n: int) -> EventRow:
        return row(key if n % 2 else other_key, period, name, **splits[n % 4])._replace(
            occurred_at=instants[n % 3], images=n % 3
        )

    before = [event(f"old{n}", n) for n in range(6)]
    ledger.insert_events(before)
    ledger.upsert_rollups(rollups_of(before))
    rows = [event(f"e{n}", n) for n in range(count)]

    with transaction.atomic():
        inserted = ledger.record(rows, Totals([], [], []), new=True)

    assert inserted == count
    assert sorted(UsageDaily.objects.values_list(*ROLLUP_COLUMNS)) == sorted(
        tuple(rollup) for rollup in rollups_of([*before, *rows])
    )


def test_upsert_of_nothing_writes_nothing(ledger):
    ledger.upsert_rollups([])

    assert not UsageDaily.objects.exists()


def test_rebuild_replaces_the_months_rollups_by_the_sums_of_the_events(ledger, key, period):
    other = customer(credits="50")
    other_period = BillingPeriodFactory(account=other.account, month=date(2026, 11, 1))
    rows = [row(key, period, f"e{n}", overage="0.625") for n in range(3)]
    rows.append(row(other, other_period, "o"))
    ledger.insert_events(rows)
    # A wrong row of the month, and one of October the rebuild of November leaves alone.
    UsageDaily.objects.create(**rollups_of(rows[:1])[0]._replace(events=99)._asdict())
    eight, zero = Decimal(8), Decimal(0)
    october = RollupRow(key.account_id, date(2026, 10, 31), rows[0].model_id, key.pk,
                        1, 0, 0, 1, eight, eight, zero, zero, zero, 0, 0, 0)  # fmt: skip
    UsageDaily.objects.create(**october._asdict())

    written = ledger.rebuild_rollups(account_ids=[key.account_id], month=NOVEMBER)

    assert written == 1
    assert stored_rollups() == [
        (key.account_id, date(2026, 10, 31), 1, 0, Decimal(8), Decimal(8), 0, 0, 0, 0),
        (key.account_id, date(2026, 11, 10), 3, 1500, Decimal("4.875"), Decimal("3"),
         Decimal("1.875"), 0, 1500, 4500),
    ]  # fmt: skip


def test_insert_new_events_adds_their_rollups_when_every_key_is_new(ledger, key, period):
    rows = [row(key, period, "a"), row(key, period, "b", overage="0.625")]

    inserted = ledger.insert_new_events(rows, rollups=True)

    assert inserted == 2
    assert stored_rollups() == [
        (key.account_id, date(2026, 11, 10), 2, 1000, Decimal("3.25"), Decimal("2.625"),
         Decimal("0.625"), 0, 500, 1500),
    ]  # fmt: skip


def test_insert_new_events_meeting_a_recorded_key_reports_it(ledger, key, period):
    ledger.insert_events([row(key, period, "taken")])
    rows = [row(key, period, "new"), row(key, period, "taken")]

    with transaction.atomic():
        inserted = ledger.insert_new_events(rows, rollups=True)
        transaction.set_rollback(True)  # what the caller does when inserted < len(rows)

    assert inserted == 1
    assert not UsageDaily.objects.exists()
    assert list(UsageEvent.objects.values_list("idempotency_key", flat=True)) == ["taken"]
