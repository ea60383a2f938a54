"""Two monthly closes at once (two workers, two beats) on PostgreSQL: each invoice once."""

import threading
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection

from billing.models import BillingPeriod, Invoice, InvoiceSequence, PeriodFee
from billing.periods import Month
from billing.services.close import period_close
from catalog.models import Plan
from tests.accounts.factories import AccountFactory
from tests.billing.factories import UsageEventFactory
from tests.conftest import postgres_only

pytestmark = [pytest.mark.django_db(transaction=True), postgres_only()]

ALGIERS = ZoneInfo("Africa/Algiers")
NOVEMBER = Month(2026, 11)


def run_at_once(count: int, target) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            target()
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_two_closes_at_once_issue_each_invoice_once_without_gaps(freeze):
    freeze("2026-11-01 08:00 +01:00")
    starter = Plan.objects.get(slug="starter")
    accounts = []
    for index in range(24):
        # Half have their November period already (an event), half get it from the close.
        account = AccountFactory(subscription__plan=starter)
        if index % 2:
            UsageEventFactory(
                account=account,
                credits=Decimal("0"),
                overage=Decimal("1.625"),  # the default event's cost, all beyond the credits
                pay_as_you_go=True,
            )
        accounts.append(account)
    freeze(datetime(2026, 12, 1, 0, 5, tzinfo=ALGIERS))

    errors = run_at_once(3, lambda: period_close(month=NOVEMBER, chunk_size=5))

    assert errors == []
    assert Invoice.objects.count() == 24
    assert Invoice.objects.values("account").distinct().count() == 24
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, 25))
    assert InvoiceSequence.objects.get(year=2026).last == 24
    assert (
        BillingPeriod.objects.filter(month=NOVEMBER.first_day, status="open").count(),
        BillingPeriod.objects.filter(month=NOVEMBER.first_day).count(),
        BillingPeriod.objects.filter(month=NOVEMBER.next().first_day).count(),
        PeriodFee.objects.filter(period__month=NOVEMBER.next().first_day).count(),
    ) == (0, 24, 24, 24)
    totals = sorted(set(Invoice.objects.values_list("total_ht", flat=True)))
    assert totals == [Decimal("500.00"), Decimal("501.63")]  # + 0.13 in, 1.50 out
    assert len(mail.outbox) == 24
