"""Espace client: paying invoices and recharges (online, or by transfer with a proof), credit
note PDFs, and Chargily's webhook endpoint."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import requires

from ..chargily import chargily_enabled
from ..models import BillingSettings, CreditNote, Invoice, Recharge, TransferProof
from ..pdf_credit_note import credit_note_pdf
from ..services.checkouts import CheckoutError, checkout_create, webhook_handle
from ..services.proofs import MAX_SIZE, ProofError, proof_upload
from ..services.recharges import RechargeError, recharge_create, recharge_offers


class ProofForm(forms.Form):
    fichier = forms.FileField(
        label=gettext_lazy("Preuve de virement (PDF, JPEG ou PNG, 5 Mo au plus)")
    )


class RechargeForm(forms.Form):
    montant = forms.DecimalField(
        label=gettext_lazy("Montant (DZD HT)"), max_digits=12, decimal_places=2, min_value=0
    )


def _urls(request, back: str) -> dict[str, str]:
    base = f"{request.scheme}://{request.get_host()}"
    return {
        "success_url": f"{base}{back}",
        "failure_url": f"{base}{back}",
        "webhook_url": f"{base}{reverse('billing:chargily_webhook')}",
    }


def _start_checkout(request, *, invoice=None, recharge=None, back: str, done: str):
    if not chargily_enabled():
        raise Http404
    try:
        checkout = checkout_create(
            account=request.account,
            invoice=invoice,
            recharge=recharge,
            **_urls(request, done),
        )
    except CheckoutError as error:
        messages.error(request, str(error))
        return redirect(back)
    return redirect(checkout.checkout_url)


@require_POST
@requires("payments.manage")
def invoice_pay(request, number: str):
    account = request.account
    invoice = get_object_or_404(Invoice, account=account, number=number)
    return _start_checkout(
        request,
        invoice=invoice,
        back=reverse("billing:invoice_detail", args=[number]),
        done=reverse("billing:invoice_checkout_return", args=[number]),
    )


def _checkout_return(request, checkouts, back: str):
    """Where Chargily sends the customer back: says what the webhook recorded so far."""
    checkout = checkouts.order_by("-created_at", "-pk").first()
    if checkout is None:
        raise Http404
    return render(
        request,
        "billing/checkout_return.html",
        {"active": "factures", "checkout": checkout, "back": back},
    )


@require_GET
@requires("payments.manage")
def invoice_checkout_return(request, number: str):
    account = request.account
    invoice = get_object_or_404(Invoice, account=account, number=number)
    back = reverse("billing:invoice_detail", args=[number])
    return _checkout_return(request, invoice.checkouts.all(), back)


@require_GET
@requires("payments.manage")
def recharge_checkout_return(request, pk: int):
    recharge = _own_recharge(request, pk)
    back = reverse("billing:recharge_detail", args=[pk])
    return _checkout_return(request, recharge.checkouts.all(), back)


@require_POST
@requires("payments.manage")
def invoice_proof(request, number: str):
    account = request.account
    invoice = get_object_or_404(Invoice, account=account, number=number)
    _proof_upload(request, account=account, invoice=invoice)
    return redirect("billing:invoice_detail", number=number)


def _proof_upload(request, **target) -> None:
    form = ProofForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choisissez le fichier de votre preuve de virement."))
        return
    try:
        proof_upload(upload=form.cleaned_data["fichier"], by=request.user, **target)
    except ProofError as error:
        messages.error(request, str(error))
        return
    messages.success(
        request, _("Preuve de virement envoyée : nous vous écrirons dès qu'elle sera vérifiée.")
    )


@require_GET
@requires("payments.manage", staff_reads_all=True)
def proof_file(request, pk: int):
    """A proof is served to its account and to staff only; 404 for anyone else."""
    proofs = TransferProof.objects.all()
    if not request.user.is_staff:
        proofs = proofs.filter(account=request.account)
    proof = get_object_or_404(proofs, pk=pk)
    response = FileResponse(proof.file.open("rb"), content_type=proof.content_type)
    response["Content-Disposition"] = f'inline; filename="preuve-{proof.pk}.{proof.extension}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@requires("invoices.view")
def credit_note_pdf_download(request, number: str):
    account = request.account
    note = get_object_or_404(
        CreditNote.objects.select_related("invoice"), account=account, number=number
    )
    response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{note.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@requires("payments.manage")
def recharges(request):
    account = request.account
    billing = BillingSettings.load()
    form = RechargeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recharge = recharge_create(
                account=account, amount=form.cleaned_data["montant"], by=request.user
            )
        except RechargeError as error:
            form.add_error("montant", str(error))
        else:
            return redirect("billing:recharge_detail", pk=recharge.pk)
    return render(
        request,
        "billing/recharges.html",
        {
            "active": "recharges",
            "form": form,
            "offers": recharge_offers(billing),
            "minimum": billing.recharge_minimum,
            "recharges": Recharge.objects.filter(account=account).select_related("invoice")[:50],
            "balance": getattr(getattr(account, "prepaid", None), "balance", None),
        },
    )


def _own_recharge(request, pk: int) -> Recharge:
    return get_object_or_404(Recharge, account=request.account, pk=pk)


@require_GET
@requires("payments.manage")
def recharge_detail(request, pk: int):
    recharge = _own_recharge(request, pk)
    return render(
        request,
        "billing/recharge_detail.html",
        {
            "active": "recharges",
            "recharge": recharge,
            "bank": BillingSettings.load().company_bank,
            "online": chargily_enabled(),
            "proofs": recharge.proofs.all(),
            "proof_form": ProofForm(),
            "max_size_mb": MAX_SIZE // (1024 * 1024),
        },
    )


@require_POST
@requires("payments.manage")
def recharge_pay(request, pk: int):
    recharge = _own_recharge(request, pk)
    return _start_checkout(
        request,
        recharge=recharge,
        back=reverse("billing:recharge_detail", args=[pk]),
        done=reverse("billing:recharge_checkout_return", args=[pk]),
    )


@require_POST
@requires("payments.manage")
def recharge_proof(request, pk: int):
    recharge = _own_recharge(request, pk)
    _proof_upload(request, account=recharge.account, recharge=recharge)
    return redirect("billing:recharge_detail", pk=pk)


@csrf_exempt
@require_POST
def chargily_webhook(request):
    """Chargily's webhook: kept whatever it says; 403 when its signature is not ours."""
    event = webhook_handle(body=request.body, signature=request.headers.get("signature", ""))
    status = 403 if event.verdict == event.Verdict.BAD_SIGNATURE else 200
    return HttpResponse(event.verdict, status=status, content_type="text/plain")


urlpatterns = [
    path("espace-client/factures/<str:number>/payer/", invoice_pay, name="invoice_pay"),
    path("espace-client/factures/<str:number>/preuve/", invoice_proof, name="invoice_proof"),
    path(
        "espace-client/factures/<str:number>/paiement/",
        invoice_checkout_return,
        name="invoice_checkout_return",
    ),
    path(
        "espace-client/recharges/<int:pk>/paiement/",
        recharge_checkout_return,
        name="recharge_checkout_return",
    ),
    path("espace-client/preuves/<int:pk>/", proof_file, name="proof_file"),
    path(
        "espace-client/avoirs/<str:number>/pdf/", credit_note_pdf_download, name="credit_note_pdf"
    ),
    path("espace-client/recharges/", recharges, name="recharges"),
    path("espace-client/recharges/<int:pk>/", recharge_detail, name="recharge_detail"),
    path("espace-client/recharges/<int:pk>/payer/", recharge_pay, name="recharge_pay"),
    path("espace-client/recharges/<int:pk>/preuve/", recharge_proof, name="recharge_proof"),
    path("paiements/chargily/webhook/", chargily_webhook, name="chargily_webhook"),
]
