"""Espace client: the account's invoices, their detail and their PDF."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import translation
from django.views.decorators.http import require_GET

from accounts.permissions import requires
from iafactory.formatting import month_label

from .. import document_wording as wording
from ..chargily import chargily_enabled
from ..models import Invoice
from ..overage import invoice_credits_note
from ..pdf import invoice_pdf
from ..services.invoices import line_unit_price
from ..services.payments import OPEN_STATUSES, invoice_amounts
from .payments import ProofForm

PER_PAGE = 24


@require_GET
@requires("invoices.view")
def invoice_list(request):
    account = request.account
    invoices = Invoice.objects.filter(account=account).order_by("-month", "-sequence")
    page = Paginator(invoices, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/invoice_list.html",
        {"active": "factures", "page": page, "invoices": page.object_list},
    )


def _own_invoice(request, number: str) -> Invoice:
    account = request.account
    return get_object_or_404(Invoice.objects.filter(account=account), number=number)


@require_GET
@requires("invoices.view")
def invoice_detail(request, number: str):
    invoice = _own_invoice(request, number)
    lines = list(invoice.lines.select_related("model").order_by("position"))
    language = translation.get_language() or "fr"
    first_days = wording.fee_first_days(invoice.month, lines)
    for line in lines:  # as the PDF says them (issue 15): translated where they can be
        line.label = wording.line_description(
            line, language, first_day=first_days.get(line.position)
        )
        line.quantity = wording.line_quantity(line, language)
        line.unit_price_label = line_unit_price(line)
    paid, credited, due = invoice_amounts(invoice)
    return render(
        request,
        "billing/invoice_detail.html",
        {
            "active": "factures",
            "invoice": invoice,
            "lines": lines,
            "month_label": month_label(invoice.month),
            "tva_exempt": invoice.tva_rate == 0,
            "amount_in_words": wording.amount_in_words(invoice.total_ttc, language),
            "credits_note": invoice_credits_note(invoice, lines),
            # h11: what is owed, what was received, and how to pay (issue 12).
            "paid": paid,
            "credited": credited,
            "balance_due": due,
            "payable": invoice.status in OPEN_STATUSES and due > 0,
            "online": chargily_enabled(),
            "payments": invoice.payments.all(),
            "credit_notes": invoice.credit_notes.all(),
            "proofs": invoice.proofs.all(),
            "proof_form": ProofForm(),
        },
    )


@require_GET
@requires("invoices.view")
def invoice_pdf_download(request, number: str):
    invoice = _own_invoice(request, number)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("espace-client/factures/", invoice_list, name="invoices"),
    path("espace-client/factures/<str:number>/", invoice_detail, name="invoice_detail"),
    path("espace-client/factures/<str:number>/pdf/", invoice_pdf_download, name="invoice_pdf"),
]
