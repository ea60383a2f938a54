"""Espace client: the account's invoices, their detail and their PDF; nobody else's."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from tests.accounts.factories import AccountFactory, UserFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client):
    account = AccountFactory(name="Atlas Numérique SARL")
    client.force_login(account.owner)
    return account


def test_the_urls_are_the_documented_ones():
    assert reverse("billing:invoices") == "/espace-client/factures/"
    assert reverse("billing:invoice_detail", args=["FA-2026-000001"]) == (
        "/espace-client/factures/FA-2026-000001/"
    )
    assert reverse("billing:invoice_pdf", args=["FA-2026-000001"]) == (
        "/espace-client/factures/FA-2026-000001/pdf/"
    )


def test_the_list_shows_the_accounts_invoices_only(client, customer):
    mine = InvoiceFactory(period=BillingPeriodFactory(account=customer))
    other = InvoiceFactory()

    response = client.get("/espace-client/factures/")

    assert response.status_code == 200
    page = response.content.decode()
    assert mine.number in page
    assert other.number not in page
    assert "1\u00a0190,00\u00a0DZD" in page
    assert "1er décembre 2026" in page
    assert 'href="/espace-client/factures/" aria-current="page"' in page
    assert "À&nbsp;payer" in page


def test_an_account_without_invoices_is_told_when_the_first_comes(client, customer):
    response = client.get("/espace-client/factures/")

    assert "Aucune facture pour l'instant." in response.content.decode()


def test_the_detail_shows_lines_totals_and_the_amount_in_words(client, customer):
    invoice = InvoiceFactory(
        period=BillingPeriodFactory(account=customer), total_ht=Decimal("1000.00")
    )

    response = client.get(f"/espace-client/factures/{invoice.number}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Formule Standard — 1er au 30 novembre 2026 (30 jours)" in page
    assert "TVA 19&nbsp;%" in page
    assert "190,00\u00a0DZD" in page
    assert "1\u00a0190,00\u00a0DZD" in page
    assert "mille cent quatre-vingt-dix dinars algériens" in page
    assert f'href="/espace-client/factures/{invoice.number}/pdf/"' in page


def test_the_pdf_downloads_as_an_attachment(client, customer):
    invoice = InvoiceFactory(period=BillingPeriodFactory(account=customer))

    response = client.get(f"/espace-client/factures/{invoice.number}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert response.content.startswith(b"%PDF-")


@pytest.mark.parametrize("suffix", ["", "pdf/"])
def test_another_accounts_invoice_is_not_found(client, customer, suffix):
    other = InvoiceFactory()

    response = client.get(f"/espace-client/factures/{other.number}/{suffix}")

    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/espace-client/factures/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_user_without_an_account_gets_404(client):
    user: User = UserFactory()
    client.force_login(user)

    assert client.get("/espace-client/factures/").status_code == 404
