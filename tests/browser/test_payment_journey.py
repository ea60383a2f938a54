"""A customer pays an invoice online through the local Chargily stand-in and sees it paid."""

import pytest
from allauth.account.models import EmailAddress

from billing.models import Payment
from tests.accounts.factories import PASSWORD, AccountFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def text(page, selector: str) -> str:
    return page.inner_text(selector).replace("\u202f", " ").replace("\xa0", " ")


def test_customer_pays_an_invoice_online_and_sees_it_paid(page, live_server, settings, tmp_path):
    settings.CHARGILY_API_KEY = "test_pk_local"
    settings.CHARGILY_SECRET = "test_sk_local"
    settings.CHARGILY_STANDIN = True
    settings.CHARGILY_API_URL = f"{live_server.url}/chargily-test/api/v2/"
    settings.MEDIA_ROOT = tmp_path
    account = AccountFactory(owner__email="nadia@exemple.dz")
    EmailAddress.objects.create(user=account.owner, email=account.owner.email, verified=True)
    invoice = InvoiceFactory(period=BillingPeriodFactory(account=account))

    page.goto("/comptes/login/")
    page.get_by_label("Adresse e-mail").fill("nadia@exemple.dz")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/espace-client/")
    page.goto(f"/espace-client/factures/{invoice.number}/")
    assert "À payer" in text(page, "main")
    assert text(page, "#reste-a-payer") == "1 190,00 DZD"

    page.get_by_role("button", name="Payer en ligne (CIB / Edahabia)").click()
    page.wait_for_url("**/chargily-test/pay/**")
    page.get_by_role("button", name="Payer (mode test)").click()

    page.wait_for_url(f"**/espace-client/factures/{invoice.number}/paiement/")
    assert "Paiement reçu." in page.locator("#resultat-paiement").inner_text()
    page.get_by_role("link", name="← Retour").click()
    main = text(page, "main")
    assert "Payée" in main
    assert "Reste à payer : 0,00 DZD" in main
    assert "Payer en ligne" not in main
    payment = Payment.objects.get()
    assert (str(payment.amount), payment.method) == ("1190.00", "chargily")
