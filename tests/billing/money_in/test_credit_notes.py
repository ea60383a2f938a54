"""Credit notes (factures d'avoir) correct an issued invoice; numbered without gaps."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import AuditEvent, User
from billing.models import CreditNote, InvoiceLine
from billing.services.credit_notes import CreditNoteError, credit_note_issue
from billing.services.payments import invoice_balance_due
from tests.billing.factories import InvoiceFactory
from tests.conftest import postgres_only

pytestmark = pytest.mark.django_db


def two_line_invoice():
    """600.00 + 400.00 HT, TVA 19 % = 190.00, 1 190.00 TTC."""
    return InvoiceFactory(
        lines=[
            {
                "kind": InvoiceLine.Kind.FEE,
                "description": "Formule Standard",
                "amount": Decimal("600.00"),
            },
            {
                "kind": InvoiceLine.Kind.OVERAGE,
                "description": "Dépassement gpt-4.1",
                "amount": Decimal("400.00"),
            },
        ]
    )


def test_a_full_credit_note_cancels_the_invoice_to_the_centime(freeze):
    freeze("2027-01-05 10:00 +01:00")
    invoice = two_line_invoice()

    note = credit_note_issue(invoice=invoice, reason="Erreur de formule")

    invoice.refresh_from_db()
    assert note.number == "AV-2027-000001"
    assert (note.total_ht, note.tva_amount, note.total_ttc) == (
        Decimal("1000.00"),
        Decimal("190.00"),
        Decimal("1190.00"),
    )
    assert invoice.status == "credited"
    assert invoice_balance_due(invoice) == Decimal("0.00")
    assert invoice.total_ttc == Decimal("1190.00")  # the invoice itself never changes
    assert AuditEvent.objects.get(action="credit_note.issued").target == "AV-2027-000001"


def test_a_partial_credit_note_then_the_rest(freeze):
    freeze("2026-12-05 10:00 +01:00")
    invoice = two_line_invoice()
    overage = invoice.lines.get(position=2)

    first = credit_note_issue(invoice=invoice, reason="Dépassement contesté", line_ids=[overage.pk])
    invoice.refresh_from_db()
    status_after_first, due_after_first = invoice.status, invoice_balance_due(invoice)
    with pytest.raises(CreditNoteError, match="déjà créditées"):
        credit_note_issue(invoice=invoice, reason="Encore", line_ids=[overage.pk])
    second = credit_note_issue(invoice=invoice, reason="Le reste")

    invoice.refresh_from_db()
    assert (first.total_ht, first.tva_amount, first.total_ttc) == (
        Decimal("400.00"),
        Decimal("76.00"),
        Decimal("476.00"),
    )
    assert (status_after_first, due_after_first) == ("issued", Decimal("714.00"))
    assert [line.description for line in second.lines.all()] == ["Formule Standard"]
    assert second.total_ttc == Decimal("714.00")
    assert (first.number, second.number) == ("AV-2026-000001", "AV-2026-000002")
    assert invoice.status == "credited"


def test_a_payment_then_a_partial_credit_settles_the_invoice():
    from billing.models import Payment
    from billing.services.payments import payment_record

    invoice = two_line_invoice()
    payment_record(invoice=invoice, amount=Decimal("714.00"), method=Payment.Method.TRANSFER)
    invoice.refresh_from_db()
    partly = invoice.status
    credit_note_issue(
        invoice=invoice, reason="Geste commercial", line_ids=[invoice.lines.get(position=2).pk]
    )

    invoice.refresh_from_db()
    assert partly == "partly_paid"
    assert invoice.status == "paid"
    assert invoice_balance_due(invoice) == Decimal("0.00")


def test_a_reason_is_required():
    with pytest.raises(CreditNoteError, match="motif"):
        credit_note_issue(invoice=InvoiceFactory(), reason="  ")
    assert CreditNote.objects.count() == 0


def test_staff_issue_it_from_the_admin_and_the_customer_downloads_its_pdf(client):
    invoice = two_line_invoice()
    staff = User.objects.create_superuser(email="staff@iafactory.dz", password="x-x-x-x-x-x-1")
    client.force_login(staff)
    url = reverse("admin:billing_invoice_credit_note", args=[invoice.pk])

    form = client.get(url)
    client.post(
        url, {"motif": "Erreur de tarif", "lignes": [str(invoice.lines.get(position=1).pk)]}
    )
    note = CreditNote.objects.get()
    client.force_login(invoice.account.owner)
    page = client.get(reverse("billing:invoice_detail", args=[invoice.number])).content.decode()
    pdf = client.get(reverse("billing:credit_note_pdf", args=[note.number]))
    client.force_login(InvoiceFactory().account.owner)
    other = client.get(reverse("billing:credit_note_pdf", args=[note.number]))

    assert form.status_code == 200
    assert (note.total_ht, note.issued_by) == (Decimal("600.00"), staff)
    assert f"Avoir {note.number}" in page
    assert "Erreur de tarif" in page
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert other.status_code == 404


@postgres_only()
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_issuers_number_without_gaps():
    invoices = [InvoiceFactory() for _ in range(10)]
    barrier = threading.Barrier(2)
    errors = []

    def issue(mine):
        try:
            barrier.wait()
            for invoice in mine:
                credit_note_issue(invoice=invoice, reason="Concurrence")
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(invoices[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    year = CreditNote.objects.values_list("year", flat=True).first()
    numbers = sorted(CreditNote.objects.values_list("sequence", flat=True))
    assert numbers == list(range(1, 11))
    assert sorted(CreditNote.objects.values_list("number", flat=True)) == [
        f"AV-{year}-{n:06d}" for n in range(1, 11)
    ]


def paid_recharge(amount: str):
    from billing.models import Payment
    from billing.services.recharges import recharge_create, recharge_paid
    from tests.accounts.factories import AccountFactory

    recharge = recharge_create(account=AccountFactory(), amount=Decimal(amount))
    return recharge_paid(recharge=recharge, method=Payment.Method.TRANSFER)


def test_a_credit_note_on_a_recharge_takes_the_credits_back_from_the_prepaid_balance():
    from billing.services.prepaid import prepaid_balance

    recharge = paid_recharge("5000.00")

    note = credit_note_issue(invoice=recharge.invoice, reason="Recharge par erreur")

    recharge.invoice.refresh_from_db()
    assert (note.total_ht, note.total_ttc) == (Decimal("5000.00"), Decimal("5950.00"))
    assert prepaid_balance(account=recharge.account) == Decimal("0.00")
    assert recharge.invoice.status == "credited"
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.PREPAID_CREDITED,
        details__motif=f"Avoir {note.number} sur {recharge.invoice.number}",
    ).exists()


def test_a_credit_note_on_a_recharge_already_spent_is_refused_and_nothing_changes():
    from billing.services.prepaid import prepaid_balance, prepaid_credit

    recharge = paid_recharge("5000.00")
    prepaid_credit(account=recharge.account, amount=Decimal("-1000.01"), reason="Consommé")

    with pytest.raises(CreditNoteError, match="déjà été consommés"):
        credit_note_issue(invoice=recharge.invoice, reason="Recharge par erreur")

    recharge.invoice.refresh_from_db()
    assert CreditNote.objects.count() == 0
    assert prepaid_balance(account=recharge.account) == Decimal("3999.99")
    assert recharge.invoice.status == "paid"


def test_a_paid_invoice_credited_in_full_shows_what_is_owed_back_not_a_negative_due(client):
    from billing.models import Payment
    from billing.services.payments import payment_record

    invoice = two_line_invoice()
    payment_record(invoice=invoice, amount=Decimal("1190.00"), method=Payment.Method.TRANSFER)
    credit_note_issue(invoice=invoice, reason="Erreur de formule")
    client.force_login(invoice.account.owner)

    html = client.get(reverse("billing:invoice_detail", args=[invoice.number])).content.decode()

    assert invoice_balance_due(invoice) == Decimal("-1190.00")
    assert "-1\xa0190,00" not in html
    assert "-1 190,00" not in html
    assert "Trop-perçu à vous rembourser" in html
    assert "1\xa0190,00\xa0DZD</strong>" in html or "1 190,00 DZD</strong>" in html
