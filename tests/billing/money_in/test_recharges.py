"""Prepaid recharges: invoiced at once when paid (one line, TVA), credited to the balance once."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from billing.chargily_standin import sign, webhook_body
from billing.models import BillingSettings, ChargilyCheckout, Invoice, PrepaidBalance, Recharge
from billing.services.recharges import RechargeError, recharge_create, recharge_offers
from tests.accounts.factories import AccountFactory
from tests.billing.money_in.conftest import SECRET

pytestmark = pytest.mark.django_db


def pay_by_webhook(client, recharge, times=1):
    checkout = ChargilyCheckout.objects.create(
        account=recharge.account,
        recharge=recharge,
        chargily_id=f"01hjrecharge{recharge.pk}",
        amount=recharge.total_ttc,
        checkout_url="http://127.0.0.1/x",
    )
    body = webhook_body(
        {"id": checkout.chargily_id, "amount": float(recharge.total_ttc), "currency": "dzd"}
    )
    for _ in range(times):
        client.generic(
            "POST",
            "/paiements/chargily/webhook/",
            body,
            content_type="application/json",
            headers={"signature": sign(body, SECRET)},
        )


def test_offers_and_minimum_come_from_billing_settings():
    settings = BillingSettings.load()
    settings.recharge_amounts = "2000, 500, abc, 10000"
    settings.recharge_minimum = Decimal("1000")
    settings.save()
    account = AccountFactory()

    with pytest.raises(RechargeError, match="minimal"):
        recharge_create(account=account, amount=Decimal("999.99"))
    with pytest.raises(RechargeError, match="centime"):
        recharge_create(account=account, amount=Decimal("1500.001"))
    assert recharge_offers() == [Decimal("2000.00"), Decimal("10000.00")]


def test_a_paid_recharge_is_invoiced_once_and_credited_once(client, freeze):
    freeze("2026-12-10 10:00 +01:00")
    account = AccountFactory()
    recharge = recharge_create(account=account, amount=Decimal("5000.00"))

    pay_by_webhook(client, recharge, times=3)

    recharge.refresh_from_db()
    invoice = Invoice.objects.get(account=account)
    line = invoice.lines.get()
    assert (recharge.status, recharge.invoice) == ("paid", invoice)
    assert (invoice.kind, invoice.status, invoice.period) == ("recharge", "paid", None)
    assert (invoice.total_ht, invoice.tva_amount, invoice.total_ttc) == (
        Decimal("5000.00"),
        Decimal("950.00"),
        Decimal("5950.00"),
    )
    assert line.description == f"Recharge de crédits ({recharge.reference})"
    assert line.amount == Decimal("5000.00")
    assert invoice.payments.get().amount == Decimal("5950.00")
    assert PrepaidBalance.objects.get(account=account).balance == Decimal("5000.00")
    assert str(invoice.due_date) == "2026-12-25"


def test_a_tva_exempt_account_pays_the_ht_amount():
    account = AccountFactory(tva_exempt=True)

    recharge = recharge_create(account=account, amount=Decimal("2500.50"))

    assert (recharge.tva_amount, recharge.total_ttc) == (Decimal("0.00"), Decimal("2500.50"))


def test_the_recharge_page_creates_a_recharge_and_shows_how_to_pay(client):
    account = AccountFactory()
    client.force_login(account.owner)

    page = client.get(reverse("billing:recharges"))
    response = client.post(reverse("billing:recharges"), {"montant": "10000"}, follow=True)
    too_small = client.post(reverse("billing:recharges"), {"montant": "10"})

    recharge = Recharge.objects.get()
    html = response.content.decode()
    assert page.status_code == 200
    assert (recharge.account, recharge.total_ttc) == (account, Decimal("11900.00"))
    assert "Payer en ligne (CIB / Edahabia)" in html
    assert recharge.reference in html
    assert "Le montant minimal d'une recharge est de 1\xa0000,00 DZD HT." in unescape(
        too_small.content.decode()
    )
    assert Recharge.objects.count() == 1


def test_another_account_cannot_see_a_recharge(client):
    recharge = recharge_create(account=AccountFactory(), amount=Decimal("5000"))
    client.force_login(AccountFactory().owner)

    response = client.get(reverse("billing:recharge_detail", args=[recharge.pk]))

    assert response.status_code == 404


def test_a_recharge_paid_by_transfer_is_credited_when_staff_approve(client, freeze):
    from datetime import date

    from django.core.files.uploadedfile import SimpleUploadedFile

    from billing.models import TransferProof
    from billing.services.proofs import proof_approve

    freeze("2026-12-10 10:00 +01:00")
    account = AccountFactory()
    recharge = recharge_create(account=account, amount=Decimal("3000.00"))
    client.force_login(account.owner)
    client.post(
        reverse("billing:recharge_proof", args=[recharge.pk]),
        {"fichier": SimpleUploadedFile("v.pdf", b"%PDF-1.4 virement", "application/pdf")},
    )

    payment = proof_approve(proof=TransferProof.objects.get(), received_on=date(2026, 12, 9))

    recharge.refresh_from_db()
    assert (payment.amount, payment.method) == (Decimal("3570.00"), "transfer")
    assert recharge.status == "paid"
    assert recharge.invoice.status == "paid"
    assert PrepaidBalance.objects.get(account=account).balance == Decimal("3000.00")


def test_each_offered_amount_button_posts_a_value_the_form_reads(client):
    account = AccountFactory()
    client.force_login(account.owner)
    page = client.get(reverse("billing:recharges")).content.decode()
    offered = re.findall(r'<input type="hidden" name="montant" value="([^"]*)">', page)

    for value in offered:
        client.post(reverse("billing:recharges"), {"montant": value})

    assert offered == [f"{amount:f}" for amount in recharge_offers()]
    assert [r.amount for r in Recharge.objects.order_by("pk")] == recharge_offers()
