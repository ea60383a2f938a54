"""One account that cannot be closed never stops the close of the others (issue 9 §3): it is
logged, listed for staff, retried by the next run, and closed once when its fault is gone."""

import logging
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.models import BillingPeriod, CloseFailure, Invoice, InvoiceSequence, UsageEvent
from billing.periods import Month
from billing.services.close import period_close, periods_close_overdue
from billing.services.periods import period_get_or_create
from billing.services.rollups import usage_rollups_rebuild
from catalog.models import Plan
from tests.accounts.factories import AccountFactory
from tests.billing.factories import BillingPeriodFactory, UsageEventFactory
from tests.conftest import postgres_only

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
OCTOBER, NOVEMBER, DECEMBER = Month(2026, 10), Month(2026, 11), Month(2026, 12)
CLOSE_TIME = "2026-12-01 00:05 +01:00"


def starter_accounts(count: int) -> list:
    starter = Plan.objects.get(slug="starter")
    return [AccountFactory(subscription__plan=starter) for _ in range(count)]


def stray_invoice(account, month: Month) -> Invoice:
    """An invoice of `account` for `month` already there, on another period: the close's own
    invoice of that month then breaks the unique (account, month) on both databases."""
    other = BillingPeriodFactory(account=account, month=date(2025, 1, 1), status="closed")
    return Invoice.objects.create(
        account=account,
        period=other,
        month=month.first_day,
        number="FA-2025-000001",
        year=2025,
        sequence=1,
        issued_at=datetime(2025, 2, 1, tzinfo=ALGIERS),
        customer_name=account.name,
        total_ht=Decimal("1.00"),
        tva_rate=Decimal("19.00"),
        tva_amount=Decimal("0.19"),
        total_ttc=Decimal("1.19"),
    )


def numbers_2026() -> list[int]:
    return sorted(Invoice.objects.filter(year=2026).values_list("sequence", flat=True))


def test_one_failing_account_does_not_stop_the_others_and_is_closed_once_when_fixed(freeze, caplog):
    freeze("2026-11-02 08:00 +01:00")
    first, broken, last = starter_accounts(3)
    stray = stray_invoice(broken, NOVEMBER)
    freeze(CLOSE_TIME)

    with caplog.at_level(logging.ERROR, logger="billing.services.close"):
        outcome = period_close(month=NOVEMBER, chunk_size=10)

    assert (outcome.accounts, outcome.periods_closed, outcome.invoices) == (3, 2, 2)
    assert [account_id for account_id, _ in outcome.failures] == [broken.pk]
    assert "IntegrityError" in outcome.failures[0][1]
    assert str(outcome).endswith(", 1 compte en échec.")
    assert set(
        Invoice.objects.filter(year=2026).values_list("account_id", "total_ht", "sequence")
    ) == {(first.pk, Decimal("500.00"), 1), (last.pk, Decimal("500.00"), 2)}
    assert InvoiceSequence.objects.get(year=2026).last == 2
    assert sorted(
        BillingPeriod.objects.filter(month=NOVEMBER.first_day).values_list("account_id", "status")
    ) == [(first.pk, "closed"), (broken.pk, "open"), (last.pk, "closed")]
    assert set(
        BillingPeriod.objects.filter(month=DECEMBER.first_day).values_list("account_id", flat=True)
    ) == {first.pk, last.pk}
    assert len(mail.outbox) == 2
    failure = CloseFailure.objects.get()
    assert (failure.account, failure.month, failure.attempts, failure.resolved_at) == (
        broken,
        NOVEMBER.first_day,
        1,
        None,
    )
    logged = [r for r in caplog.records if getattr(r, "event", "") == "close.account_failed"]
    assert [(r.account_id, r.month) for r in logged] == [(broken.pk, "2026-11")]

    again = period_close(month=NOVEMBER, chunk_size=10)  # the fault is still there
    assert (again.invoices, [pk for pk, _ in again.failures]) == (0, [broken.pk])
    assert CloseFailure.objects.get().attempts == 2

    stray.delete()  # staff remove the cause
    fixed = period_close(month=NOVEMBER, chunk_size=10)
    once_more = period_close(month=NOVEMBER, chunk_size=10)

    assert (fixed.invoices, fixed.failures, once_more.invoices) == (1, [], 0)
    invoice = Invoice.objects.get(account=broken, month=NOVEMBER.first_day)
    assert (invoice.number, invoice.total_ht) == ("FA-2026-000003", Decimal("500.00"))
    assert numbers_2026() == [1, 2, 3]
    assert InvoiceSequence.objects.get(year=2026).last == 3
    assert CloseFailure.objects.get().resolved_at is not None
    assert BillingPeriod.objects.filter(account=broken, month=DECEMBER.first_day).exists()
    assert len(mail.outbox) == 3


def test_the_housekeeping_closes_later_months_while_an_older_one_keeps_failing(freeze):
    freeze("2026-10-05 08:00 +01:00")
    healthy, broken = starter_accounts(2)
    for account in (healthy, broken):
        period_get_or_create(account=account, month=OCTOBER)  # they used the API in October
    stray_invoice(broken, OCTOBER)
    freeze("2026-12-03 03:30 +01:00")  # October and November never closed

    results = periods_close_overdue()
    next_day = periods_close_overdue()

    assert [(str(r.month), r.invoices, len(r.failures)) for r in results] == [
        ("2026-10", 1, 1),
        ("2026-11", 2, 0),
    ]
    assert [(str(r.month), r.invoices, len(r.failures)) for r in next_day] == [
        ("2026-10", 0, 1),
        ("2026-11", 0, 0),
    ]
    assert sorted(
        Invoice.objects.filter(year=2026).values_list("month", "account_id", "sequence")
    ) == [
        (date(2026, 10, 1), healthy.pk, 1),
        (date(2026, 11, 1), healthy.pk, 2),
        (date(2026, 11, 1), broken.pk, 3),
    ]
    assert CloseFailure.objects.get(account=broken, month=OCTOBER.first_day).attempts == 2


def test_the_command_closes_the_others_then_lists_the_failures_and_exits_in_error(freeze, capsys):
    freeze("2026-11-02 08:00 +01:00")
    _, broken = starter_accounts(2)
    broken.name = "Sahara Data SARL"
    broken.save(update_fields=["name"])
    stray_invoice(broken, NOVEMBER)
    freeze(CLOSE_TIME)

    with pytest.raises(CommandError, match=r"1 compte\(s\) non clôturé\(s\) pour 2026-11"):
        call_command("close_period")

    captured = capsys.readouterr()
    assert "1 facture émise (FA-2026-000001)" in captured.out
    assert "1 compte en échec." in captured.out
    assert f"Compte n° {broken.pk} (Sahara Data SARL) : IntegrityError" in captured.err
    assert Invoice.objects.filter(year=2026).count() == 1


def test_staff_see_the_failed_closes_in_the_admin(freeze, admin_client):
    freeze("2026-11-02 08:00 +01:00")
    (broken,) = starter_accounts(1)
    broken.name = "Sahara Data SARL"
    broken.save(update_fields=["name"])
    stray_invoice(broken, NOVEMBER)
    freeze(CLOSE_TIME)
    period_close(month=NOVEMBER)

    page = admin_client.get(reverse("admin:billing_closefailure_changelist") + "?etat=en_echec")
    index = admin_client.get(reverse("admin:index"))

    assert page.status_code == 200
    body = page.content.decode()
    assert "Sahara Data SARL" in body
    assert "2026-11" in body
    assert "IntegrityError" in body
    assert "Clôtures en échec" in index.content.decode()
    resolved = admin_client.get(reverse("admin:billing_closefailure_changelist") + "?etat=resolue")
    assert "Sahara Data SARL" not in resolved.content.decode()


@postgres_only("numeric column limits: SQLite stores any number")
def test_an_account_whose_month_overflows_the_invoice_columns_does_not_block_the_close(freeze):
    freeze("2026-11-02 08:00 +01:00")
    first, huge, last = starter_accounts(3)
    # 10¹³ DZD of overage: fits the ledger, not an invoice line (12 digits before the point).
    event = UsageEventFactory(
        account=huge,
        input_tokens=4 * 10**16,  # × 250 DZD per million
        output_tokens=0,
        credits=Decimal("0"),
        overage=Decimal("10000000000000"),
        pay_as_you_go=True,
    )
    freeze(CLOSE_TIME)

    outcome = period_close(month=NOVEMBER, chunk_size=2)

    assert [pk for pk, _ in outcome.failures] == [huge.pk]
    assert "numeric field overflow" in outcome.failures[0][1]
    assert sorted(Invoice.objects.values_list("account_id", "sequence")) == [
        (first.pk, 1),
        (last.pk, 2),
    ]
    assert "numeric field overflow" in CloseFailure.objects.get(account=huge).error

    UsageEvent.objects.filter(pk=event.pk).update(
        input_tokens=40_000, overage=Decimal("10"), cost=Decimal("10")
    )
    usage_rollups_rebuild(account_id=huge.pk, month=NOVEMBER)  # the close reads the rollups
    fixed = period_close(month=NOVEMBER, chunk_size=2)

    assert (fixed.invoices, fixed.failures) == (1, [])
    invoice = Invoice.objects.get(account=huge)
    assert (invoice.sequence, invoice.total_ht) == (3, Decimal("510.00"))
    assert CloseFailure.objects.get(account=huge).resolved_at is not None
