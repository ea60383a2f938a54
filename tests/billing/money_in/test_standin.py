"""The SDK talks to the local stand-in over HTTP: checkout, payment page, signed webhook."""

from decimal import Decimal

import pytest
import requests

from billing.models import ChargilyCheckout, Payment, WebhookEvent
from billing.services.checkouts import CheckoutError, checkout_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def standin(settings, live_server):
    settings.CHARGILY_API_URL = f"{live_server.url}/chargily-test/api/v2/"
    return live_server


def urls(live_server, invoice):
    back = f"{live_server.url}/espace-client/factures/{invoice.number}/paiement/"
    return {
        "success_url": back,
        "failure_url": back,
        "webhook_url": f"{live_server.url}/paiements/chargily/webhook/",
    }


def test_checkout_then_payment_through_the_standin(standin, invoice):
    checkout = checkout_create(account=invoice.account, invoice=invoice, **urls(standin, invoice))

    page = requests.get(checkout.checkout_url, timeout=10)
    paid = requests.post(
        checkout.checkout_url, data={"issue": "paye"}, allow_redirects=False, timeout=20
    )

    checkout.refresh_from_db()
    invoice.refresh_from_db()
    assert checkout.amount == Decimal("1190.00")
    assert checkout.checkout_url.startswith(f"{standin.url}/chargily-test/pay/")
    assert "Payer (mode test)" in page.text
    assert paid.status_code == 302
    assert paid.headers["Location"].endswith(f"/espace-client/factures/{invoice.number}/paiement/")
    assert checkout.status == "paid"
    assert invoice.status == "paid"
    assert Payment.objects.get().amount == Decimal("1190.00")
    assert WebhookEvent.objects.get().verdict == "recorded"


def test_a_failed_payment_records_nothing(standin, invoice):
    checkout = checkout_create(account=invoice.account, invoice=invoice, **urls(standin, invoice))

    requests.post(checkout.checkout_url, data={"issue": "echec"}, allow_redirects=False, timeout=20)

    checkout.refresh_from_db()
    assert checkout.status == "failed"
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_chargily_unreachable_is_a_clear_message(invoice, settings):
    settings.CHARGILY_API_URL = "http://127.0.0.1:9/chargily-test/api/v2/"
    back = "http://testserver/retour/"

    with pytest.raises(CheckoutError, match="indisponible pour le moment"):
        checkout_create(
            account=invoice.account,
            invoice=invoice,
            success_url=back,
            failure_url=back,
            webhook_url=back,
        )
    assert ChargilyCheckout.objects.count() == 0
