"""The month's bill so far is the invoice: one function drafts both (issue 11)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.bill import FEE, OVERAGE, FeeUse, OverageUse, bill_draft, bill_so_far
from billing.metering import usage_record_batch
from billing.models import BillingPeriod, BillingSettings, Invoice
from billing.overage import IMAGE, OUTPUT
from billing.periods import Month
from billing.services.close import period_close
from billing.services.subscriptions import subscription_upgrade
from catalog.models import Plan
from tests.accounts.factories import AccountFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOVEMBER = Month(2026, 11)
OCTOBER_FIRST = datetime(2026, 10, 1, tzinfo=ALGIERS)


def fee(amount, first_day=1, days=30, name="Starter"):
    return FeeUse(1, name, date(2026, 11, first_day), days, Decimal(amount))


def overage(amount, rank, name="GPT-4.1", is_text=True):
    """One unit (an output token, an image) priced so that the line's exact amount is `amount`."""
    unit, per = (OUTPUT, 1_000_000) if is_text else (IMAGE, 1)
    quantity = Decimal(1) if Decimal(amount) else Decimal(0)
    return OverageUse(rank, name, rank, unit, Decimal(amount) * per, quantity, OCTOBER_FIRST)


@pytest.mark.parametrize(
    ("fees", "overages", "rate", "amounts", "ht", "tva", "ttc"),
    [
        # No usage, one formula: 500.00 HT, 19 % TVA.
        ([fee("500")], [], "19", ["500.00"], "500.00", "95.00", "595.00"),
        # Each line rounded half up, HT the sum of rounded lines, TVA rounded once on HT.
        (
            [fee("250", 16, 15, "Expert"), fee("250", 1, 15)],
            [overage("1.005", 2, "FLUX", False), overage("0.0049", 1), overage("2.125", 0)],
            "19",
            ["250.00", "250.00", "2.13", "0.00", "1.01"],
            "503.14",
            "95.60",  # 95.5966
            "598.74",
        ),
        # Exempt: rate 0; an overage of nothing makes no line.
        ([], [overage("12.345", 0), overage("0", 1)], "0", ["12.35"], "12.35", "0.00", "12.35"),
        ([], [], "19", [], "0", "0.00", "0.00"),
    ],
)
def test_the_draft_rounds_each_line_then_tva_once(fees, overages, rate, amounts, ht, tva, ttc):
    bill = bill_draft(fees=fees, overages=overages, tva_rate=Decimal(rate))

    assert [str(line.amount) for line in bill.lines] == amounts
    assert (bill.ht, bill.tva, bill.ttc) == (Decimal(ht), Decimal(tva), Decimal(ttc))


def test_fee_lines_come_first_by_day_then_overage_in_catalog_order():
    bill = bill_draft(
        fees=[fee("250", 16, 15, "Expert"), fee("250", 1, 15)],
        overages=[overage("8", 5, "FLUX", is_text=False), overage("1", 0)],
        tva_rate=Decimal(19),
    )

    assert [(line.kind, line.description) for line in bill.lines] == [
        (FEE, "Formule Starter — 1er au 15 novembre 2026 (15 jours)"),
        (FEE, "Formule Expert — 16 au 30 novembre 2026 (15 jours)"),
        (OVERAGE, "Consommation au-delà des crédits — GPT-4.1, tokens en sortie"),
        (OVERAGE, "Consommation au-delà des crédits — FLUX, images"),
    ]
    assert [(line.output_tokens, line.images) for line in bill.lines[2:]] == [(1, None), (None, 1)]


def text(key, idem, day, input_tokens=500_000, output_tokens=1_500_000, model="gpt-4.1"):
    occurred_at = datetime(2026, 11, day, 12, tzinfo=ALGIERS).isoformat()
    return {"idempotency_key": idem, "api_key": key.raw, "model": model,
            "input_tokens": input_tokens, "output_tokens": output_tokens,
            "occurred_at": occurred_at}  # fmt: skip


def image(key, idem, day, images):
    occurred_at = datetime(2026, 11, day, 12, tzinfo=ALGIERS).isoformat()
    return {"idempotency_key": idem, "api_key": key.raw, "model": "flux-schnell",
            "images": images, "occurred_at": occurred_at}  # fmt: skip


def key_of(plan, payg=False, exempt=False):
    account = AccountFactory(
        tva_exempt=exempt,
        subscription__plan=Plan.objects.get(slug=plan) if plan else None,
        subscription__pay_as_you_go=payg,
        subscription__started_at=OCTOBER_FIRST,
        subscription__pay_as_you_go_changed_at=OCTOBER_FIRST,
    )
    return ApiKeyFactory(account=account)


def invoice_as_bill(invoice: Invoice) -> tuple:
    lines = [
        (line.kind, line.description, line.amount, line.days, line.input_tokens,
         line.output_tokens, line.images)
        for line in invoice.lines.order_by("position")
    ]  # fmt: skip
    return lines, invoice.total_ht, invoice.tva_rate, invoice.tva_amount, invoice.total_ttc


def bill_as_invoice(bill) -> tuple:
    lines = [
        (line.kind, line.description, line.amount, line.days, line.input_tokens,
         line.output_tokens, line.images)
        for line in bill.lines
    ]  # fmt: skip
    return lines, bill.ht, bill.tva_rate, bill.tva, bill.ttc


def test_the_bill_so_far_on_the_last_day_is_the_invoice_the_close_issues(freeze):
    freeze("2026-11-02 09:00 +01:00")
    BillingSettings.objects.update(tva_rate=Decimal("19.00"))
    starter = key_of("starter")
    heavy = key_of("standard", payg=True)
    upgraded = key_of("starter", payg=True)
    payg_only = key_of(None, payg=True)
    exempt = key_of("starter", payg=True, exempt=True)
    written_off = key_of(None)
    for day in (3, 9, 27):
        if day == 27:
            freeze("2026-11-16 10:00 +01:00")
            subscription_upgrade(account=upgraded.account, plan=Plan.objects.get(slug="expert"))
        freeze(f"2026-11-{day:02d} 13:00 +01:00")
        batch = usage_record_batch(events=[
            text(starter, f"s{day}", day, 1000, 1000),
            *(text(heavy, f"h{day}-{n}", day, 333_333, 777_777) for n in range(40)),
            image(heavy, f"hi{day}", day, 7),
            text(upgraded, f"u{day}", day, 2_000_000, 300_000),
            image(payg_only, f"p{day}", day, 3),
            text(payg_only, f"pt{day}", day, 123_457, 98_765),
            *(text(exempt, f"e{day}-{n}", day) for n in range(12)),
            image(written_off, f"w{day}", day, 2),
        ])  # fmt: skip
        assert batch.rejected == 0, [r.error for r in batch.results if r.error]
    freeze("2026-11-30 23:59 +01:00")
    keys = [starter, heavy, upgraded, payg_only, exempt, written_off]
    bills = {
        key.account_id: bill_so_far(
            period=BillingPeriod.objects.get(account=key.account, month=NOVEMBER.first_day)
        )
        for key in keys
    }

    freeze("2026-12-01 00:05 +01:00")
    period_close(month=NOVEMBER)

    invoices = {invoice.account_id: invoice for invoice in Invoice.objects.all()}
    assert set(invoices) == {key.account_id for key in keys[:5]}  # written off: 0.00, none
    assert bills[written_off.account_id].ht == 0
    for key in keys[:5]:
        assert bill_as_invoice(bills[key.account_id]) == invoice_as_bill(invoices[key.account_id])
    # The table covers every kind of line: two prorated fees, text and image overage, exempt.
    assert [len(bills[key.account_id].lines) for key in keys[:5]] == [1, 4, 4, 3, 3]
    assert bills[exempt.account_id].tva == 0
    assert bills[heavy.account_id].tva > 0


def test_the_dashboard_shows_the_bill_so_far(freeze, client):
    freeze("2026-11-16 10:00 +01:00")
    key = key_of("starter")
    client.force_login(key.account.owner)

    response = client.get("/espace-client/")

    html = response.content.decode()
    assert 'id="facture-en-cours"' in html
    assert "Formule Starter — 1er au 30 novembre 2026 (30 jours)" in html
    assert "595,00" in html  # TTC: 500.00 + 19 %
