"""Money that arrives twice, late or stale is recorded, never lost: an overpaid part kept for
staff to refund; one live checkout per invoice or recharge; transfers approved for the amount
received, computed under the invoice lock."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from accounts.models import User
from billing.chargily_standin import sign, webhook_body
from billing.models import ChargilyCheckout, Payment, PrepaidBalance, TransferProof, WebhookEvent
from billing.services import checkouts
from billing.services.checkouts import checkout_create, webhook_handle
from billing.services.payments import invoice_balance_due, payment_record
from billing.services.proofs import ProofError, proof_approve, proof_upload
from billing.services.recharges import recharge_create
from tests.accounts.factories import AccountFactory
from tests.billing.money_in.conftest import SECRET
from tests.conftest import postgres_only

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
URLS = {"success_url": "http://x/ok", "failure_url": "http://x/ko", "webhook_url": "http://x/wh"}


@pytest.fixture
def remote(monkeypatch):
    """Chargily's checkout creation (unreachable here): each call a new remote checkout."""
    calls = []

    def create(**kwargs):
        calls.append(kwargs["amount"])
        return {"id": f"01hjremote{len(calls)}", "checkout_url": f"http://x/pay/{len(calls)}"}

    monkeypatch.setattr(checkouts, "checkout_create_remote", create)
    return calls


def checkout_row(*, invoice=None, recharge=None, amount, chargily_id):
    target = invoice or recharge
    return ChargilyCheckout.objects.create(
        account=target.account,
        invoice=invoice,
        recharge=recharge,
        chargily_id=chargily_id,
        amount=amount,
        checkout_url="http://127.0.0.1/x",
    )


def pay(checkout) -> WebhookEvent:
    body = webhook_body(
        {"id": checkout.chargily_id, "amount": float(checkout.amount), "currency": "dzd"}
    )
    return webhook_handle(body=body, signature=sign(body, SECRET))


def proof_for(*, invoice=None, recharge=None) -> TransferProof:
    target = invoice or recharge
    upload = SimpleUploadedFile("virement.pdf", PDF, "application/pdf")
    return proof_upload(account=target.account, upload=upload, invoice=invoice, recharge=recharge)


def test_a_second_tab_reuses_the_pending_checkout_of_a_recharge(remote):
    recharge = recharge_create(account=AccountFactory(), amount=Decimal("5000.00"))

    first = checkout_create(account=recharge.account, recharge=recharge, **URLS)
    second = checkout_create(account=recharge.account, recharge=recharge, **URLS)

    assert second == first
    assert remote == [Decimal("5950.00")]
    assert ChargilyCheckout.objects.count() == 1


def test_a_pending_checkout_of_a_stale_amount_is_expired_and_replaced(invoice, remote):
    first = checkout_create(account=invoice.account, invoice=invoice, **URLS)
    payment_record(invoice=invoice, amount=Decimal("190.00"), method=Payment.Method.TRANSFER)

    second = checkout_create(account=invoice.account, invoice=invoice, **URLS)

    first.refresh_from_db()
    assert (first.amount, first.status) == (Decimal("1190.00"), "expired")
    assert (second.amount, second.status) == (Decimal("1000.00"), "pending")
    assert remote == [Decimal("1190.00"), Decimal("1000.00")]


def test_a_recharge_paid_twice_keeps_the_second_payment_to_refund(freeze):
    freeze("2026-12-10 10:00 +01:00")
    recharge = recharge_create(account=AccountFactory(), amount=Decimal("5000.00"))
    one = checkout_row(recharge=recharge, amount=Decimal("5950.00"), chargily_id="01hjtab1")
    two = checkout_row(recharge=recharge, amount=Decimal("5950.00"), chargily_id="01hjtab2")

    verdicts = [pay(one).verdict, pay(two).verdict]

    recharge.refresh_from_db()
    payments = list(Payment.objects.order_by("pk").values_list("checkout", "amount", "overpaid"))
    assert verdicts == ["recorded", "overpaid"]
    assert payments == [
        (one.pk, Decimal("5950.00"), Decimal("0.00")),
        (two.pk, Decimal("5950.00"), Decimal("5950.00")),
    ]
    assert PrepaidBalance.objects.get(account=recharge.account).balance == Decimal("5000.00")
    assert recharge.invoice.status == "paid"
    assert invoice_balance_due(recharge.invoice) == Decimal("0.00")


def test_a_transfer_approved_after_an_online_payment_of_a_recharge_is_kept_to_refund(freeze):
    freeze("2026-12-10 10:00 +01:00")
    recharge = recharge_create(account=AccountFactory(), amount=Decimal("1000.00"))
    proof = proof_for(recharge=recharge)
    pay(checkout_row(recharge=recharge, amount=Decimal("1190.00"), chargily_id="01hjonline"))

    payment = proof_approve(proof=proof, received_on=date(2026, 12, 9))

    proof.refresh_from_db()
    assert proof.status == "approved"
    assert (payment.proof, payment.amount, payment.overpaid) == (
        proof,
        Decimal("1190.00"),
        Decimal("1190.00"),
    )
    assert PrepaidBalance.objects.get(account=recharge.account).balance == Decimal("1000.00")


def test_an_invoice_paid_online_twice_records_the_excess_to_refund(invoice):
    one = checkout_row(invoice=invoice, amount=Decimal("1190.00"), chargily_id="01hjinv1")
    two = checkout_row(invoice=invoice, amount=Decimal("1190.00"), chargily_id="01hjinv2")

    verdicts = [pay(one).verdict, pay(two)]

    invoice.refresh_from_db()
    assert verdicts[0] == "recorded"
    assert (verdicts[1].verdict, verdicts[1].detail) == (
        "overpaid",
        "trop-perçu de 1190.00 DZD à rembourser",
    )
    assert Payment.objects.get(checkout=two).overpaid == Decimal("1190.00")
    assert invoice.status == "paid"
    assert invoice_balance_due(invoice) == Decimal("0.00")


def test_a_stale_checkout_paid_after_a_transfer_records_only_the_excess_to_refund(invoice):
    stale = checkout_row(invoice=invoice, amount=Decimal("1190.00"), chargily_id="01hjstale")
    payment_record(invoice=invoice, amount=Decimal("190.00"), method=Payment.Method.TRANSFER)

    event = pay(stale)

    invoice.refresh_from_db()
    payment = Payment.objects.get(checkout=stale)
    assert event.verdict == "overpaid"
    assert (payment.amount, payment.overpaid) == (Decimal("1190.00"), Decimal("190.00"))
    assert invoice.status == "paid"
    assert invoice_balance_due(invoice) == Decimal("0.00")


def test_staff_find_the_payments_to_refund_in_the_admin(client, invoice):
    payment_record(invoice=invoice, method=Payment.Method.TRANSFER)
    pay(checkout_row(invoice=invoice, amount=Decimal("1190.00"), chargily_id="01hjtwice"))
    staff = User.objects.create_superuser(email="staff@iafactory.dz", password="x-x-x-x-x-x-1")
    client.force_login(staff)

    page = client.get(reverse("admin:billing_payment_changelist") + "?trop_percu=oui")

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert list(page.context["cl"].result_list) == [Payment.objects.get(checkout__isnull=False)]


def test_a_transfer_is_approved_for_the_amount_received_partly_paid(invoice):
    proof = proof_for(invoice=invoice)

    payment = proof_approve(proof=proof, received_on=date(2026, 11, 20), amount=Decimal("500.00"))

    invoice.refresh_from_db()
    assert (payment.amount, payment.overpaid) == (Decimal("500.00"), Decimal("0.00"))
    assert invoice.status == "partly_paid"
    assert invoice_balance_due(invoice) == Decimal("690.00")


def test_a_transfer_above_the_balance_due_keeps_the_excess_to_refund(invoice):
    proof = proof_for(invoice=invoice)

    payment = proof_approve(proof=proof, received_on=date(2026, 11, 20), amount=Decimal("1200.00"))

    invoice.refresh_from_db()
    assert (payment.amount, payment.overpaid) == (Decimal("1200.00"), Decimal("10.00"))
    assert invoice.status == "paid"


def test_approving_a_transfer_for_a_paid_invoice_is_refused_and_the_proof_stays_pending(invoice):
    first, second = proof_for(invoice=invoice), proof_for(invoice=invoice)
    proof_approve(proof=first, received_on=date(2026, 11, 20))

    with pytest.raises(ProofError, match="n'a plus rien à payer"):
        proof_approve(proof=second, received_on=date(2026, 11, 20))

    second.refresh_from_db()
    assert second.status == "pending"
    assert Payment.objects.get().amount == Decimal("1190.00")


def test_the_admin_approval_form_offers_the_balance_due_as_the_amount_received(client, invoice):
    payment_record(invoice=invoice, amount=Decimal("190.00"), method=Payment.Method.TRANSFER)
    proof = proof_for(invoice=invoice)
    staff = User.objects.create_superuser(email="staff@iafactory.dz", password="x-x-x-x-x-x-1")
    client.force_login(staff)

    page = client.get(reverse("admin:billing_transferproof_change", args=[proof.pk]))

    assert page.context["adminform"].form["montant_recu"].initial == Decimal("1000.00")


@postgres_only()
@pytest.mark.django_db(transaction=True)
def test_two_staff_approving_two_proofs_at_once_record_the_balance_due_once(invoice):
    proofs = [proof_for(invoice=invoice), proof_for(invoice=invoice)]
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(proof):
        try:
            barrier.wait()
            proof_approve(proof=proof, received_on=date(2026, 11, 20))
            outcomes.append("approved")
        except ProofError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(proof,)) for proof in proofs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    invoice.refresh_from_db()
    assert sorted(outcomes) == sorted(
        ["approved", f"La facture {invoice.number} n'a plus rien à payer."]
    )
    assert list(Payment.objects.values_list("amount", "overpaid")) == [
        (Decimal("1190.00"), Decimal("0.00"))
    ]
    assert invoice.status == "paid"
