"""The monthly close: exact invoices, next month's period, and what may not happen twice."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from billing.metering import usage_record_batch
from billing.models import (
    BillingPeriod,
    BillingSettings,
    Invoice,
    InvoiceSequence,
    PeriodFee,
    PlanChange,
    Subscription,
)
from billing.periods import Month
from billing.services import close, close_invoicing
from billing.services.close import CloseError, period_close, periods_close_overdue
from billing.services.pay_as_you_go import payg_set
from billing.services.periods import period_get_or_create, periods_ensure
from billing.services.subscriptions import (
    subscription_schedule_downgrade,
    subscription_upgrade,
)
from catalog.models import AIModel, Plan
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.factories import BillingPeriodFactory, UsageEventFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOVEMBER = Month(2026, 11)
DECEMBER = Month(2026, 12)
CLOSE_TIME = "2026-12-01 00:05 +01:00"


def plan(slug: str) -> Plan:
    return Plan.objects.get(slug=slug)


def invoice_lines(invoice: Invoice) -> list[tuple]:
    return [
        (
            line.kind,
            line.description,
            line.input_tokens,
            line.output_tokens,
            line.images,
            line.amount,
        )
        for line in invoice.lines.order_by("position")
    ]


def event(key, idempotency_key, model, occurred_at, **counts) -> dict:
    return {
        "idempotency_key": idempotency_key,
        "api_key": key.raw,
        "model": model,
        "occurred_at": occurred_at,
        **counts,
    }


def overage_accounts(count: int, *, overage: str = "10.00", occurred_at=None) -> list:
    """`count` Starter accounts, each with one overage event (by default on 10 November)."""
    accounts = []
    for _ in range(count):
        account = AccountFactory(subscription__plan=plan("starter"))
        UsageEventFactory(
            account=account,
            credits=Decimal("0"),
            overage=Decimal(overage),
            pay_as_you_go=True,
            **({"occurred_at": occurred_at} if occurred_at else {}),
        )
        accounts.append(account)
    return accounts


def assert_numbers_without_gaps(year: int = 2026) -> None:
    sequences = sorted(Invoice.objects.filter(year=year).values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert InvoiceSequence.objects.get(year=year).last == len(sequences)
    for invoice in Invoice.objects.all():
        assert invoice.number == f"FA-{year}-{invoice.sequence:06d}"


# --- the invoice, to the centime ---------------------------------------------------------------


def test_standard_account_with_overage_on_two_models_gets_the_exact_invoice(freeze):
    freeze("2026-11-02 09:00 +01:00")
    account = AccountFactory(
        name="Atlas Numérique SARL",
        owner__email="amina@atlas.dz",
        nif="000216001234567",
        subscription__plan=plan("standard"),
    )
    payg_set(account=account, enabled=True)
    key = ApiKeyFactory(account=account)
    at = "2026-11-20T10:00:00+01:00"
    result = usage_record_batch(
        events=[
            # 750 + 375 = 1 125.00: 1 000.00 on the credits, 125.00 overage.
            event(
                key, "e1", "claude-sonnet-4.5", at, input_tokens=1_000_000, output_tokens=100_000
            ),
            # 83.33325 + 123.457 = 206.79025, all overage.
            event(key, "e2", "gpt-4.1", at, input_tokens=333_333, output_tokens=123_457),
            # 0.25075 + 2.004 = 2.25475: gpt-4.1 overage 209.045, rounded half up to 209.05.
            event(key, "e3", "gpt-4.1", at, input_tokens=1_003, output_tokens=2_004),
        ],
        now=datetime(2026, 11, 20, 10, 1, tzinfo=ALGIERS),
    )
    assert result.accepted == 3
    freeze(CLOSE_TIME)

    outcome = period_close(month=NOVEMBER)

    invoice = Invoice.objects.get(account=account)
    assert (outcome.invoices, outcome.first_number, outcome.last_number) == (
        1,
        "FA-2026-000001",
        "FA-2026-000001",
    )
    assert invoice.number == "FA-2026-000001"
    assert (invoice.year, invoice.sequence, invoice.month) == (2026, 1, date(2026, 11, 1))
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.issued_at == datetime(2026, 12, 1, 0, 5, tzinfo=ALGIERS)
    assert invoice_lines(invoice) == [
        (
            "fee",
            "Formule Standard — 1er au 30 novembre 2026 (30 jours)",
            None,
            None,
            None,
            Decimal("1000.00"),
        ),
        # Issue 15: one line per unit and price, quantity × unit price = amount.
        (
            "overage",
            "Consommation au-delà des crédits — GPT-4.1, tokens en entrée",
            334_336,
            None,
            None,
            Decimal("83.58"),  # 334 336 × 250 / 1M = 83.584
        ),
        (
            "overage",
            "Consommation au-delà des crédits — GPT-4.1, tokens en sortie",
            None,
            125_461,
            None,
            Decimal("125.46"),  # 125 461 × 1 000 / 1M = 125.461
        ),
        (
            "overage",
            "Consommation au-delà des crédits — Claude Sonnet 4.5, tokens en sortie",
            None,
            33_333,  # the input (750.00) and 66 667 output tokens (250.00) on the credits
            None,
            Decimal("125.00"),  # 33 333 × 3 750 / 1M = 124.99875
        ),
    ]
    assert [
        (line.unit, line.unit_price, line.billed_quantity)
        for line in invoice.lines.order_by("position")[1:]
    ] == [
        ("input", Decimal("250"), Decimal("334336")),
        ("output", Decimal("1000"), Decimal("125461")),
        ("output", Decimal("3750"), Decimal("33333")),
    ]
    assert invoice.total_ht == Decimal("1334.04")
    assert invoice.tva_rate == Decimal("19.00")
    assert invoice.tva_amount == Decimal("253.47")  # 253.4676
    assert invoice.total_ttc == Decimal("1587.51")
    assert (invoice.customer_name, invoice.customer_email, invoice.customer_nif) == (
        "Atlas Numérique SARL",
        "amina@atlas.dz",
        "000216001234567",
    )
    assert invoice.seller["name"] == "IAFactory SARL"
    period = BillingPeriod.objects.get(account=account, month=NOVEMBER.first_day)
    assert period.status == BillingPeriod.Status.CLOSED
    assert period.closed_at == datetime(2026, 12, 1, 0, 5, tzinfo=ALGIERS)


def test_invoice_keeps_both_parties_legal_details_as_they_were_at_issue(freeze):
    freeze("2026-11-02 09:00 +01:00")
    account = AccountFactory(
        subscription__plan=plan("starter"),
        nif="000216001234567",
        nis="000216001234568",
        rc="16/00-1234567B21",
        article="16012345678",
    )
    BillingSettings.objects.filter(pk=1).update(
        company_article="16099999999", payment_terms="Payable sous 30 jours par virement."
    )
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)
    Account.objects.filter(pk=account.pk).update(article="changé", rc="changé")
    BillingSettings.objects.filter(pk=1).update(payment_terms="autre")

    invoice = Invoice.objects.get(account=account)
    invoice.refresh_from_db()
    assert (invoice.customer_rc, invoice.customer_article) == ("16/00-1234567B21", "16012345678")
    assert invoice.seller["article"] == "16099999999"
    assert invoice.seller["payment_terms"] == "Payable sous 30 jours par virement."


def test_exempt_account_is_invoiced_without_tva(freeze):
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory(tva_exempt=True, subscription__plan=plan("starter"))
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    invoice = Invoice.objects.get(account=account)
    assert invoice.total_ht == Decimal("500.00")
    assert invoice.tva_rate == Decimal("0")
    assert invoice.tva_amount == Decimal("0.00")
    assert invoice.total_ttc == Decimal("500.00")


def test_tva_rate_comes_from_billing_settings(freeze):
    freeze("2026-11-01 08:00 +01:00")
    BillingSettings.objects.filter(pk=1).update(tva_rate=Decimal("9.00"))
    account = AccountFactory(subscription__plan=plan("starter"))
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    invoice = Invoice.objects.get(account=account)
    assert (invoice.tva_rate, invoice.tva_amount, invoice.total_ttc) == (
        Decimal("9.00"),
        Decimal("45.00"),
        Decimal("545.00"),
    )


def test_upgrade_on_the_15th_gives_two_prorated_fee_lines(freeze):
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory(subscription__plan=plan("starter"))
    period_get_or_create(account=account, month=NOVEMBER)
    freeze("2026-11-15 10:00 +01:00")  # 16 of November's 30 days left
    subscription_upgrade(account=account, plan=plan("expert"))
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    invoice = Invoice.objects.get(account=account)
    assert invoice_lines(invoice) == [
        (
            "fee",
            "Formule Starter — 1er au 14 novembre 2026 (14 jours)",
            None,
            None,
            None,
            Decimal("233.33"),  # 500 × 14 / 30
        ),
        (
            "fee",
            "Formule Expert — 15 au 30 novembre 2026 (16 jours)",
            None,
            None,
            None,
            Decimal("1333.33"),  # 2 500 × 16 / 30
        ),
    ]
    assert invoice.total_ht == Decimal("1566.66")
    assert invoice.tva_amount == Decimal("297.67")  # 297.6654
    assert invoice.total_ttc == Decimal("1864.33")
    assert [line.days for line in invoice.lines.order_by("position")] == [14, 16]


@pytest.mark.parametrize(
    ("target", "credits", "fees"),
    [("starter", Decimal("500.00"), [Decimal("500.00")]), (None, Decimal("0"), [])],
)
def test_scheduled_downgrade_applies_to_the_next_period(freeze, target, credits, fees):
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory(subscription__plan=plan("expert"))
    freeze("2026-11-20 10:00 +01:00")
    subscription_schedule_downgrade(account=account, plan=target and plan(target))
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    invoice = Invoice.objects.get(account=account)
    assert [line.description for line in invoice.lines.all()] == [
        "Formule Expert — 1er au 30 novembre 2026 (30 jours)"
    ]
    assert invoice.total_ht == Decimal("2500.00")
    december = BillingPeriod.objects.get(account=account, month=DECEMBER.first_day)
    assert december.plan == (target and plan(target))
    assert december.included_credits == credits
    assert list(december.fees.values_list("amount", flat=True)) == fees
    assert Subscription.objects.get(account=account).plan == (target and plan(target))
    assert PlanChange.objects.get(account=account, kind="downgrade").status == "applied"


def test_credits_reset_next_month_without_rollover(freeze):
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory(subscription__plan=plan("standard"))
    key = ApiKeyFactory(account=account)
    # 250 + 450 = 700.00 of the 1 000.00 credits used, 300.00 unused.
    usage_record_batch(
        events=[
            event(
                key,
                "e1",
                "gpt-4.1",
                "2026-11-10T10:00:00+01:00",
                input_tokens=1_000_000,
                output_tokens=450_000,
            )
        ],
        now=datetime(2026, 11, 10, 10, 0, tzinfo=ALGIERS),
    )
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    november = BillingPeriod.objects.get(account=account, month=NOVEMBER.first_day)
    december = BillingPeriod.objects.get(account=account, month=DECEMBER.first_day)
    assert november.consumed == Decimal("700")
    assert (december.plan, december.included_credits, december.consumed) == (
        plan("standard"),
        Decimal("1000.00"),
        Decimal("0"),
    )
    assert december.status == BillingPeriod.Status.OPEN
    assert list(december.fees.values_list("first_day", "days", "amount")) == [
        (date(2026, 12, 1), 31, Decimal("1000.00"))
    ]
    # Only the fee: usage within the credits is never invoiced.
    assert Invoice.objects.get(account=account).total_ht == Decimal("1000.00")


def test_a_december_period_made_before_the_close_is_kept(freeze):
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory(subscription__plan=plan("standard"))
    period_get_or_create(account=account, month=NOVEMBER)
    freeze("2026-12-01 00:01 +01:00")
    december = period_get_or_create(account=account, month=DECEMBER)
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    assert list(BillingPeriod.objects.filter(account=account, month=DECEMBER.first_day)) == [
        december
    ]
    assert PeriodFee.objects.filter(period=december).count() == 1


def test_written_off_usage_is_not_invoiced_and_zero_totals_give_no_invoice(freeze):
    freeze("2026-11-01 08:00 +01:00")
    no_formula = AccountFactory()
    UsageEventFactory(
        account=no_formula, credits=Decimal("0"), written_off=Decimal("12.5"), pay_as_you_go=False
    )
    tiny = AccountFactory()  # pay as you go, no formula: 0.004 DZD rounds to 0.00
    UsageEventFactory(
        account=tiny,
        credits=Decimal("0"),
        overage=Decimal("0.004"),
        pay_as_you_go=True,
        input_tokens=16,
        output_tokens=0,
    )
    freeze(CLOSE_TIME)

    outcome = period_close(month=NOVEMBER)

    assert Invoice.objects.count() == 0
    assert (outcome.accounts, outcome.periods_closed, outcome.invoices) == (2, 2, 0)
    assert set(
        BillingPeriod.objects.filter(month=NOVEMBER.first_day).values_list("status", flat=True)
    ) == {"closed"}
    assert BillingPeriod.objects.filter(month=DECEMBER.first_day).count() == 2


def test_pay_as_you_go_without_formula_is_invoiced_for_its_overage_only(freeze):
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory()
    UsageEventFactory(
        account=account,
        model=AIModel.objects.get(slug="flux-schnell"),
        input_tokens=0,
        output_tokens=0,
        images=3,
        input_price=None,
        output_price=None,
        image_price=Decimal("8"),
        credits=Decimal("0"),
        overage=Decimal("24"),
        pay_as_you_go=True,
    )
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    invoice = Invoice.objects.get(account=account)
    assert invoice_lines(invoice) == [
        (
            "overage",
            "Consommation au-delà des crédits — FLUX.1 schnell, images",
            None,
            None,
            3,
            Decimal("24.00"),
        )
    ]
    assert (invoice.total_ht, invoice.tva_amount, invoice.total_ttc) == (
        Decimal("24.00"),
        Decimal("4.56"),
        Decimal("28.56"),
    )


def test_accounts_created_after_the_month_are_left_alone(freeze):
    freeze("2026-12-01 00:01 +01:00")
    AccountFactory(subscription__plan=plan("standard"))
    freeze(CLOSE_TIME)

    outcome = period_close(month=NOVEMBER)

    assert outcome.accounts == 0
    assert BillingPeriod.objects.count() == 0


def test_an_account_set_up_as_if_since_an_earlier_month_is_closed_too(freeze):
    freeze("2026-12-01 00:01 +01:00")
    account = AccountFactory(subscription__plan=plan("standard"))
    period_get_or_create(account=account, month=NOVEMBER)  # e.g. create_demo_customer --since
    freeze(CLOSE_TIME)

    outcome = period_close(month=NOVEMBER)

    assert outcome.invoices == 1
    invoice = Invoice.objects.get(account=account)
    assert (invoice.total_ht, invoice.total_ttc) == (Decimal("1000.00"), Decimal("1190.00"))
    assert BillingPeriod.objects.get(account=account, month=NOVEMBER.first_day).status == "closed"


def test_an_account_without_a_subscription_gets_one_and_an_empty_period(freeze):
    freeze("2026-10-15 08:00 +01:00")
    account = AccountFactory(subscription__plan=plan("starter"))
    Subscription.objects.filter(account=account).delete()  # as if made before subscriptions
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    november = BillingPeriod.objects.get(account=account, month=NOVEMBER.first_day)
    assert november.plan is None  # the subscription made for it has no formula
    assert Invoice.objects.filter(account=account).count() == 0
    assert Subscription.objects.filter(account=account).count() == 1


def test_the_owner_is_emailed_once_with_a_link(freeze, settings):
    settings.SITE_URL = "https://portail.iafactory.dz"
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory(owner__email="amina@atlas.dz", subscription__plan=plan("starter"))
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)
    period_close(month=NOVEMBER)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["amina@atlas.dz"]
    assert message.subject == "Votre facture FA-2026-000001 (novembre 2026)"
    assert "https://portail.iafactory.dz/espace-client/factures/FA-2026-000001/" in message.body
    assert "595,00" in message.body  # 500.00 + 95.00 TVA
    assert "novembre 2026" in message.alternatives[0][0]
    assert Invoice.objects.get(account=account).emailed_at is not None


# --- refusals and the command --------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2026-12", "2027-01"])
def test_the_current_or_a_future_month_cannot_be_closed(freeze, month):
    freeze("2026-12-15 10:00 +01:00")

    with pytest.raises(CloseError, match=f"Le mois {month} n'est pas terminé"):
        period_close(month=Month.parse(month))


def test_command_closes_the_month_that_just_ended_by_default(freeze, capsys):
    freeze("2026-11-01 08:00 +01:00")
    AccountFactory(subscription__plan=plan("starter"))
    freeze(CLOSE_TIME)

    call_command("close_period")

    out = capsys.readouterr().out
    assert (
        "Clôture 2026-11 : 1 compte, 1 période clôturée, 1 facture émise (FA-2026-000001), "
        "1 e-mail envoyé." in out
    )
    assert Invoice.objects.get().month == date(2026, 11, 1)


def test_command_takes_a_month_and_refuses_the_current_one(freeze):
    freeze("2026-12-10 10:00 +01:00")

    call_command("close_period", "--month", "2026-10")
    with pytest.raises(CommandError, match="Le mois 2026-12 n'est pas terminé"):
        call_command("close_period", "--month", "2026-12")
    with pytest.raises(CommandError, match="Mois invalide"):
        call_command("close_period", "--month", "décembre")


# --- exactly once ------------------------------------------------------------------------------


def test_closing_twice_issues_each_invoice_once(freeze):
    freeze("2026-11-01 08:00 +01:00")
    accounts = overage_accounts(5)
    freeze(CLOSE_TIME)

    first = period_close(month=NOVEMBER, chunk_size=2)
    second = period_close(month=NOVEMBER, chunk_size=2)

    assert (first.invoices, second.invoices, second.periods_closed) == (5, 0, 0)
    assert Invoice.objects.count() == 5
    assert {invoice.account_id for invoice in Invoice.objects.all()} == {a.pk for a in accounts}
    assert BillingPeriod.objects.filter(month=DECEMBER.first_day).count() == 5
    assert len(mail.outbox) == 5
    assert_numbers_without_gaps()


def test_a_close_interrupted_after_half_the_accounts_is_finished_by_the_next(freeze, monkeypatch):
    freeze("2026-11-01 08:00 +01:00")
    overage_accounts(6)
    freeze(CLOSE_TIME)
    real_chunk = close.periods_invoice
    calls = []

    def crash_on_the_second_chunk(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            # A worker stopped mid-chunk (Celery's shutdown raises SystemExit): not one
            # account's failure, so the run stops there.
            raise SystemExit("worker killed")
        return real_chunk(**kwargs)

    monkeypatch.setattr(close, "periods_invoice", crash_on_the_second_chunk)
    with pytest.raises(SystemExit, match="worker killed"):
        period_close(month=NOVEMBER, chunk_size=3)
    assert Invoice.objects.count() == 3
    assert BillingPeriod.objects.filter(month=NOVEMBER.first_day, status="closed").count() == 3
    monkeypatch.setattr(close, "periods_invoice", real_chunk)

    resumed = period_close(month=NOVEMBER, chunk_size=3)

    assert (resumed.invoices, resumed.periods_closed) == (3, 3)
    assert Invoice.objects.count() == 6
    assert Invoice.objects.values("account").distinct().count() == 6
    assert BillingPeriod.objects.filter(month=DECEMBER.first_day).count() == 6
    assert len(mail.outbox) == 6
    assert_numbers_without_gaps()


def test_invoices_a_killed_close_did_not_email_are_emailed_by_the_next(freeze, monkeypatch):
    freeze("2026-11-01 08:00 +01:00")
    overage_accounts(4)
    freeze(CLOSE_TIME)

    def killed(**kwargs):
        raise RuntimeError("killed after commit")

    monkeypatch.setattr(close, "invoices_issued_notify", killed)
    with pytest.raises(RuntimeError):
        period_close(month=NOVEMBER, chunk_size=2)
    monkeypatch.undo()
    assert (Invoice.objects.count(), len(mail.outbox)) == (2, 0)

    resumed = period_close(month=NOVEMBER, chunk_size=2)

    assert resumed.emails == 4
    assert len(mail.outbox) == 4
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        Invoice.objects.values_list("customer_email", flat=True)
    )
    assert not Invoice.objects.filter(emailed_at__isnull=True).exists()


def test_a_failed_chunk_leaves_no_number_used(freeze, monkeypatch):
    freeze("2026-11-01 08:00 +01:00")
    overage_accounts(4)
    freeze(CLOSE_TIME)
    real_issue = close_invoicing.invoices_issue
    calls = []

    def fail_after_numbering(**kwargs):
        invoices = real_issue(**kwargs)
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return invoices

    monkeypatch.setattr(close_invoicing, "invoices_issue", fail_after_numbering)
    with pytest.raises(OperationalError):
        period_close(month=NOVEMBER, chunk_size=2)
    assert InvoiceSequence.objects.get(year=2026).last == 2
    monkeypatch.undo()

    period_close(month=NOVEMBER, chunk_size=2)

    assert Invoice.objects.count() == 4
    assert_numbers_without_gaps()


def test_numbers_continue_across_months_and_restart_each_year(freeze):
    freeze("2026-10-01 08:00 +01:00")
    overage_accounts(2)
    freeze("2026-11-01 00:05 +01:00")
    period_close(month=Month(2026, 10))
    freeze("2026-12-01 00:05 +01:00")
    period_close(month=NOVEMBER)
    freeze("2027-01-01 00:05 +01:00")

    period_close(month=DECEMBER)

    assert list(Invoice.objects.order_by("year", "sequence").values_list("month", "number")) == [
        (date(2026, 10, 1), "FA-2026-000001"),
        (date(2026, 10, 1), "FA-2026-000002"),
        (date(2026, 11, 1), "FA-2026-000003"),
        (date(2026, 11, 1), "FA-2026-000004"),
        (date(2026, 12, 1), "FA-2027-000001"),
        (date(2026, 12, 1), "FA-2027-000002"),
    ]


def test_the_overdue_close_catches_up_a_missed_month_and_then_does_nothing(freeze):
    freeze("2026-10-05 08:00 +01:00")
    account = AccountFactory(subscription__plan=plan("starter"))
    period_get_or_create(account=account, month=Month(2026, 10))
    freeze("2026-12-03 03:30 +01:00")  # October and November were never closed

    results = periods_close_overdue()
    again = periods_close_overdue()

    assert [(str(r.month), r.invoices) for r in results] == [("2026-10", 1), ("2026-11", 1)]
    assert [(str(r.month), r.invoices) for r in again] == [("2026-11", 0)]
    assert list(
        BillingPeriod.objects.filter(account=account)
        .order_by("month")
        .values_list("month", "status")
    ) == [
        (date(2026, 10, 1), "closed"),
        (date(2026, 11, 1), "closed"),
        (date(2026, 12, 1), "open"),
    ]


# --- scale: set-based, a constant number of queries per chunk ------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_accounts_of_a_chunk(freeze):
    freeze("2026-11-01 08:00 +01:00")
    overage_accounts(3)
    freeze(CLOSE_TIME)
    with CaptureQueriesContext(connection) as three_accounts:
        period_close(month=NOVEMBER, chunk_size=100)
    # 23 invoices fit one SQLite insert (999 parameters / 25 invoice columns, h11's due date
    # and kind included), and their 46 lines (input, output) another; PostgreSQL inserts any
    # number in one statement.
    overage_accounts(20, occurred_at=datetime(2026, 12, 10, 12, 0, tzinfo=ALGIERS))
    freeze("2027-01-01 00:05 +01:00")

    with CaptureQueriesContext(connection) as thirty_three_accounts:
        period_close(month=DECEMBER, chunk_size=100)

    assert Invoice.objects.filter(month=DECEMBER.first_day).count() == 23
    assert len(thirty_three_accounts) == len(three_accounts)


def test_periods_of_a_chunk_are_made_in_bulk_like_period_get_or_create(freeze):
    freeze("2026-11-01 08:00 +01:00")
    accounts = [AccountFactory(subscription__plan=plan(slug)) for slug in ("starter", "expert")]
    accounts.append(AccountFactory())
    expected = {
        a.pk: (p.plan_id, p.included_credits, list(p.fees.values_list("amount", flat=True)))
        for a in accounts
        for p in [period_get_or_create(account=a, month=NOVEMBER)]
    }
    BillingPeriod.objects.all().delete()

    created = periods_ensure(account_ids=[a.pk for a in accounts], month=NOVEMBER)

    assert created == 3
    assert {
        p.account_id: (p.plan_id, p.included_credits, list(p.fees.values_list("amount", flat=True)))
        for p in BillingPeriod.objects.all()
    } == expected
    assert periods_ensure(account_ids=[a.pk for a in accounts], month=NOVEMBER) == 0


def test_factory_periods_are_closed_like_any_other(freeze):
    freeze("2026-11-01 08:00 +01:00")
    period = BillingPeriodFactory(account=AccountFactory(subscription__plan=plan("expert")))
    freeze(CLOSE_TIME)

    period_close(month=NOVEMBER)

    assert Invoice.objects.get(period=period).total_ht == Decimal("2500.00")
