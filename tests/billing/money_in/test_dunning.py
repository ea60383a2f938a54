"""Due dates, reminders at the due date and +7 days, suspension at +30 lifted by payment."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from accounts.models import AuditEvent
from billing.chargily_standin import sign, webhook_body
from billing.metering.authorization import usage_authorize
from billing.models import AccountStanding, ChargilyCheckout
from billing.services.dunning import account_exemption_set, invoices_dun
from billing.tasks import invoices_dun_task
from iafactory.celery import app
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory
from tests.billing.money_in.conftest import SECRET

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")


@pytest.fixture
def key():
    """A pay-as-you-go account's key (authorized unless suspended) and its unpaid invoice."""
    account = AccountFactory(subscription__pay_as_you_go=True)
    key = ApiKeyFactory(account=account)
    key.invoice = InvoiceFactory(period=BillingPeriodFactory(account=account))
    return key


def test_reminders_go_out_once_at_the_due_date_and_seven_days_later(key, freeze):
    freeze("2026-12-15 09:00 +01:00")
    before = invoices_dun()
    freeze("2026-12-16 09:00 +01:00")
    due = invoices_dun()
    again = invoices_dun()
    freeze("2026-12-23 09:00 +01:00")
    late = invoices_dun()

    assert before == {"due": 0, "late": 0, "suspended": 0}
    assert due == {"due": 1, "late": 0, "suspended": 0}
    assert again == {"due": 0, "late": 0, "suspended": 0}
    assert late == {"due": 0, "late": 1, "suspended": 0}
    assert [message.subject for message in mail.outbox] == [
        f"[IAFactory] Facture {key.invoice.number} à échéance",
        f"[IAFactory] Relance : facture {key.invoice.number} impayée",
    ]
    assert "reste à payer : 1 190,00 DZD TTC" in mail.outbox[1].body.replace("\xa0", " ")
    assert usage_authorize(raw_key=key.raw).allowed


def test_at_30_days_the_account_is_suspended_and_a_payment_lifts_it_at_once(key, freeze, client):
    freeze("2027-01-15 09:00 +01:00")
    counts = invoices_dun_task()
    refused = usage_authorize(raw_key=key.raw)
    client.force_login(key.account.owner)
    dashboard = client.get("/espace-client/").content.decode()

    checkout = ChargilyCheckout.objects.create(
        account=key.account,
        invoice=key.invoice,
        chargily_id="01hjsuspended",
        amount=key.invoice.total_ttc,
        checkout_url="http://127.0.0.1/x",
    )
    body = webhook_body({"id": checkout.chargily_id, "amount": 1190, "currency": "dzd"})
    client.generic(
        "POST",
        "/paiements/chargily/webhook/",
        body,
        content_type="application/json",
        headers={"signature": sign(body, SECRET)},
    )
    allowed = usage_authorize(raw_key=key.raw)
    after = client.get("/espace-client/").content.decode()

    assert counts == {"due": 1, "late": 1, "suspended": 1}
    assert (refused.allowed, refused.reason) == (False, "unpaid_invoice")
    assert "Accès à l'API suspendu : facture impayée." in dashboard
    assert f"/espace-client/factures/{key.invoice.number}/" in dashboard
    assert allowed.allowed
    assert "Accès à l'API suspendu" not in after
    assert AccountStanding.objects.get(account=key.account).suspended_at is None
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"account.suspended", "account.reinstated", "payment.recorded"} <= actions


def test_staff_exemption_keeps_the_api_open(key, freeze):
    account_exemption_set(account=key.account, exempt=True)
    freeze("2027-02-01 09:00 +01:00")

    counts = invoices_dun()

    assert counts["suspended"] == 0
    assert usage_authorize(raw_key=key.raw).allowed


def test_exempting_a_suspended_account_lifts_it(key, freeze):
    freeze("2027-01-15 09:00 +01:00")
    invoices_dun()
    refused = usage_authorize(raw_key=key.raw).reason

    account_exemption_set(account=key.account, exempt=True)

    assert refused == "unpaid_invoice"
    assert usage_authorize(raw_key=key.raw).allowed


def test_beat_runs_the_reminders_every_morning():
    entry = app.conf.beat_schedule["daily-invoice-reminders"]

    assert entry["task"] == "billing.tasks.invoices_dun_task"
    assert entry["task"] in app.tasks


def test_the_pdf_shows_the_due_date_instead_of_on_receipt(key, monkeypatch):
    from billing import pdf

    monkeypatch.setattr(pdf, "FONT_DIRS", ())
    monkeypatch.setattr(pdf, "COMPRESS", False)

    data = pdf.invoice_pdf(key.invoice)

    assert "(16 décembre 2026)".encode("latin-1") in data
    assert "(à réception)".encode("latin-1") not in data
    assert "(RIB : 002 00012 1234567890 12)".encode("latin-1") in data


def test_close_sets_the_due_date_from_the_payment_term(freeze):
    from billing.models import BillingSettings
    from billing.periods import Month
    from billing.services.close import period_close
    from tests.catalog.factories import PlanFactory

    settings = BillingSettings.load()
    settings.payment_term_days = 20
    settings.save()
    freeze("2026-11-10 10:00 +01:00")
    account = AccountFactory(subscription__plan=PlanFactory())
    BillingPeriodFactory(account=account)
    freeze("2026-12-01 00:05 +01:00")

    period_close(month=Month.parse("2026-11"))

    invoice = account.invoices.get()
    assert invoice.due_date == datetime(2026, 12, 21, tzinfo=ALGIERS).date()


def test_an_invoice_paid_since_the_daily_snapshot_does_not_suspend_the_account(key, freeze):
    from datetime import date

    from billing.models import Payment
    from billing.services.dunning import _suspend
    from billing.services.payments import payment_record

    freeze("2027-01-15 09:00 +01:00")
    snapshot = key.invoice  # read by invoices_dun before the payment arrived
    payment_record(invoice=key.invoice, method=Payment.Method.TRANSFER)

    suspended = _suspend(snapshot, date(2027, 1, 15))

    assert suspended == 0
    assert not AccountStanding.objects.filter(
        account=key.account, suspended_at__isnull=False
    ).exists()
    assert usage_authorize(raw_key=key.raw).allowed
