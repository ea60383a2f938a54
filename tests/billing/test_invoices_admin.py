"""Staff see invoices read-only, mark them paid (never void them), and filter them."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from billing.services.invoices import InvoiceStateError, invoice_mark_paid
from tests.accounts.factories import AccountFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/billing/invoice/"


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(email="staff@iafactory.dz", password="x-x-x-x-x-x-1")
    client.force_login(user)
    return user


def test_invoices_are_read_only_in_the_admin(client, staff):
    invoice = InvoiceFactory()
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])

    page = client.get(url)
    post = client.post(url, {"customer_name": "Autre nom"})
    add = client.get(reverse("admin:billing_invoice_add"))
    delete = client.get(reverse("admin:billing_invoice_delete", args=[invoice.pk]))

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert invoice.lines.get().description in page.content.decode()
    assert post.status_code == 403
    assert (add.status_code, delete.status_code) == (403, 403)
    invoice.refresh_from_db()
    assert invoice.customer_name != "Autre nom"


def test_mark_paid_records_the_balance_due_and_void_is_gone(client, staff, freeze):
    to_pay = InvoiceFactory()
    freeze("2026-12-05 10:00 +01:00")

    client.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [to_pay.pk]})
    page = client.get(CHANGELIST).content.decode()

    to_pay.refresh_from_db()
    assert to_pay.status == "paid"
    assert to_pay.paid_at.isoformat() == "2026-12-05T09:00:00+00:00"
    payment = to_pay.payments.get()
    assert (payment.amount, payment.method) == (Decimal("1190.00"), "manual")
    assert 'value="void"' not in page  # an issued invoice is corrected by a credit note


def test_the_services_refuse_what_the_rules_forbid():
    paid = invoice_mark_paid(invoice=InvoiceFactory())
    void = InvoiceFactory(status="void")

    with pytest.raises(InvoiceStateError, match="annulée"):
        invoice_mark_paid(invoice=void)
    assert invoice_mark_paid(invoice=paid).status == "paid"  # idempotent
    assert paid.payments.count() == 1


def test_filters_by_month_status_and_account(client, staff):
    atlas = AccountFactory(name="Atlas Numérique SARL")
    november = InvoiceFactory(period=BillingPeriodFactory(account=atlas))
    october = InvoiceFactory(period=BillingPeriodFactory(account=atlas, month=date(2026, 10, 1)))
    other = InvoiceFactory()
    invoice_mark_paid(invoice=other)

    by_month = client.get(CHANGELIST, {"mois": "2026-10"}).context["cl"].result_list
    by_status = client.get(CHANGELIST, {"statut": "paid"}).context["cl"].result_list
    by_name = client.get(CHANGELIST, {"compte": "atlas"}).context["cl"].result_list
    by_id = client.get(CHANGELIST, {"compte": str(other.account_id)}).context["cl"].result_list
    page = client.get(CHANGELIST).content.decode()

    assert list(by_month) == [october]
    assert list(by_status) == [other]
    assert set(by_name) == {november, october}
    assert list(by_id) == [other]
    assert "octobre 2026" in page
    assert 'name="compte"' in page


def test_staff_download_any_invoice_pdf_and_see_the_parties(client, staff):
    invoice = InvoiceFactory(customer_nif="000216001234567")

    pdf = client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    page = client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()

    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert "NIF : 000216001234567<br>" in page
    assert "Article d&#x27;imposition : —<br>" in page
    assert "novembre 2026" in page


def test_the_pdf_download_is_staff_only(client):
    invoice = InvoiceFactory()
    client.force_login(invoice.account.owner)

    response = client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 302  # to the admin log-in
