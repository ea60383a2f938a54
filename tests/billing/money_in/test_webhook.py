"""Only Chargily's signed webhook marks money as received, once per checkout."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing.chargily_standin import sign, webhook_body
from billing.models import ChargilyCheckout, Payment, WebhookEvent
from billing.services.checkouts import webhook_handle
from billing.services.payments import invoice_balance_due
from tests.billing.money_in.conftest import SECRET
from tests.conftest import postgres_only

pytestmark = pytest.mark.django_db

WEBHOOK = "/paiements/chargily/webhook/"


def checkout_for(invoice, amount=None, chargily_id="01hjcheckout1") -> ChargilyCheckout:
    return ChargilyCheckout.objects.create(
        account=invoice.account,
        invoice=invoice,
        chargily_id=chargily_id,
        amount=amount if amount is not None else invoice.total_ttc,
        checkout_url="http://127.0.0.1/chargily-test/pay/x/",
    )


def paid_event(checkout, amount=None, currency="dzd") -> bytes:
    data = {
        "id": checkout.chargily_id,
        "entity": "checkout",
        "amount": float(amount if amount is not None else checkout.amount),
        "currency": currency,
    }
    return webhook_body(data)


def post(client, body: bytes, signature: str | None = None):
    return client.generic(
        "POST",
        WEBHOOK,
        body,
        content_type="application/json",
        headers={"signature": sign(body, SECRET) if signature is None else signature},
    )


def test_a_signed_webhook_records_the_payment_and_settles_the_invoice(client, invoice):
    checkout = checkout_for(invoice)

    response = post(client, paid_event(checkout))

    invoice.refresh_from_db()
    payment = Payment.objects.get()
    assert response.status_code == 200
    assert (payment.amount, payment.method, payment.checkout) == (
        Decimal("1190.00"),
        "chargily",
        checkout,
    )
    assert invoice.status == "paid"
    assert invoice_balance_due(invoice) == Decimal("0.00")
    assert WebhookEvent.objects.get().verdict == "recorded"


def test_a_bad_signature_records_nothing_but_the_webhook(client, invoice):
    checkout = checkout_for(invoice)
    body = paid_event(checkout)

    forged = post(client, body, signature=sign(body, "not-the-secret"))
    missing = post(client, body, signature="")
    tampered = post(client, body.replace(b"1190", b"1191"), signature=sign(body, SECRET))

    assert (forged.status_code, missing.status_code, tampered.status_code) == (403, 403, 403)
    assert Payment.objects.count() == 0
    events = WebhookEvent.objects.order_by("pk")
    assert [event.verdict for event in events] == ["bad_signature"] * 3
    assert events[2].body == body.replace(b"1190", b"1191").decode()  # kept as received
    invoice.refresh_from_db()
    assert invoice.status == "issued"


def test_a_replayed_webhook_records_one_payment(client, invoice):
    checkout = checkout_for(invoice)
    body = paid_event(checkout)

    statuses = {post(client, body).status_code for _ in range(10)}

    assert statuses == {200}
    assert Payment.objects.count() == 1
    verdicts = list(WebhookEvent.objects.order_by("pk").values_list("verdict", flat=True))
    assert verdicts == ["recorded"] + ["duplicate"] * 9


def test_a_wrong_amount_or_currency_records_nothing(client, invoice):
    checkout = checkout_for(invoice)

    post(client, paid_event(checkout, amount=Decimal("1189.99")))
    post(client, paid_event(checkout, currency="eur"))

    assert Payment.objects.count() == 0
    assert set(WebhookEvent.objects.values_list("verdict", flat=True)) == {"mismatch"}
    checkout.refresh_from_db()
    assert checkout.status == "pending"


def test_an_unknown_checkout_or_garbage_records_nothing(client, invoice):
    checkout_for(invoice)
    unknown = webhook_body({"id": "01hjother", "amount": 1190, "currency": "dzd"})
    garbage = b'{"type": "checkout.paid"'

    post(client, unknown)
    post(client, garbage)

    assert Payment.objects.count() == 0
    verdicts = list(WebhookEvent.objects.order_by("pk").values_list("verdict", flat=True))
    assert verdicts == ["unknown_checkout", "malformed"]


def test_a_failed_checkout_is_marked_failed_without_payment(client, invoice):
    checkout = checkout_for(invoice)
    body = webhook_body(
        {"id": checkout.chargily_id, "amount": 1190, "currency": "dzd"},
        event_type="checkout.failed",
    )

    post(client, body)

    checkout.refresh_from_db()
    assert checkout.status == "failed"
    assert Payment.objects.count() == 0


def test_centimes_travel_exactly(client, invoice):
    invoice.total_ht, invoice.tva_amount, invoice.total_ttc = (
        Decimal("1566.66"),
        Decimal("297.67"),
        Decimal("1864.33"),
    )
    invoice.save()
    checkout = checkout_for(invoice)

    post(client, paid_event(checkout))

    assert Payment.objects.get().amount == Decimal("1864.33")


@postgres_only()
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("deliveries", [2, 10])
def test_concurrent_deliveries_record_exactly_one_payment(invoice, deliveries):
    checkout = checkout_for(invoice)
    body = paid_event(checkout)
    signature = sign(body, SECRET)
    barrier = threading.Barrier(deliveries)
    verdicts, errors = [], []

    def deliver():
        try:
            barrier.wait()
            verdicts.append(webhook_handle(body=body, signature=signature).verdict)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(verdicts) == ["duplicate"] * (deliveries - 1) + ["recorded"]
    assert Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
