"""One contract for both bulk inserts of the set-based services (the close, periods_ensure)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import BillingPeriod
from billing.services import bulk
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["orm", "postgres"])
def insert(request):
    if request.param == "postgres":
        if connection.vendor != "postgresql":
            pytest.skip("the PostgreSQL insert needs PostgreSQL (set DATABASE_URL)")
        return bulk._postgres_insert
    return bulk._orm_insert


def _periods(accounts, credits: str) -> list[BillingPeriod]:
    return [
        BillingPeriod(account=account, month=date(2026, 11, 1), included_credits=Decimal(credits))
        for account in accounts
    ]


def test_rows_are_stored_with_their_values_and_given_their_pks(insert):
    accounts = AccountFactory.create_batch(3)
    periods = _periods(accounts, "1000.00")

    insert(BillingPeriod, periods, ignore_conflicts=False, pk_by="")

    stored = BillingPeriod.objects.filter(month=date(2026, 11, 1)).order_by("account_id")
    assert [(p.account_id, p.included_credits) for p in stored] == [
        (a.pk, Decimal("1000.00")) for a in accounts
    ]
    assert all(p.created_at for p in stored)


def test_conflicting_rows_are_skipped_when_asked(insert):
    accounts = AccountFactory.create_batch(2)
    insert(BillingPeriod, _periods(accounts[:1], "500.00"), ignore_conflicts=False, pk_by="")

    insert(BillingPeriod, _periods(accounts, "2500.00"), ignore_conflicts=True, pk_by="")

    stored = dict(
        BillingPeriod.objects.filter(month=date(2026, 11, 1)).values_list(
            "account_id", "included_credits"
        )
    )
    assert stored == {accounts[0].pk: Decimal("500.00"), accounts[1].pk: Decimal("2500.00")}
