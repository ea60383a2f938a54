"""Admin for money in (issue 12): transfer proofs to review, payments, credit notes, Chargily
webhooks and checkouts, recharges, suspensions. Every change goes through a service."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from iafactory.formatting import format_dzd

from ..models import (
    AccountStanding,
    ChargilyCheckout,
    CreditNote,
    CreditNoteLine,
    Invoice,
    Payment,
    Recharge,
    TransferProof,
    WebhookEvent,
)
from ..pdf_credit_note import credit_note_pdf
from ..periods import local_date
from ..services.credit_notes import CreditNoteError, credit_note_issue, line_credited
from ..services.dunning import account_exemption_set
from ..services.payments import invoice_balance_due
from ..services.proofs import ProofError, proof_approve, proof_reject


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ProofReviewForm(forms.ModelForm):
    DECISIONS = [("", "—"), ("approve", "Accepter (facture payée)"), ("reject", "Refuser")]
    decision = forms.ChoiceField(label="décision", choices=DECISIONS, required=False)
    date_recue = forms.DateField(
        label="virement reçu le", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    montant_recu = forms.DecimalField(
        label="montant reçu (DZD TTC)", required=False, max_digits=14, decimal_places=2
    )
    motif = forms.CharField(
        label="motif du refus (vu par le client)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = TransferProof
        fields: list[str] = []

    def clean(self):
        data = super().clean()
        if data.get("decision") == "approve" and not data.get("date_recue"):
            self.add_error("date_recue", "Indiquez la date de réception du virement.")
        if data.get("decision") == "approve" and not data.get("montant_recu"):
            self.add_error("montant_recu", "Indiquez le montant reçu.")
        if data.get("decision") == "reject" and not (data.get("motif") or "").strip():
            self.add_error("motif", "Indiquez le motif du refus : le client le verra.")
        return data


@admin.register(TransferProof)
class TransferProofAdmin(admin.ModelAdmin):
    form = ProofReviewForm
    list_display = ("pk", "account", "target", "status", "uploaded_at", "reviewed_at")
    list_filter = ("status",)
    list_select_related = ("account", "invoice", "recharge")
    search_fields = ("account__name", "invoice__number")
    readonly_fields = (
        "account",
        "target",
        "file_link",
        "content_type",
        "size",
        "uploaded_at",
        "uploaded_by",
        "status",
        "received_on",
        "rejection_reason",
        "reviewed_at",
        "reviewed_by",
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": self.readonly_fields})]
        if obj is not None and obj.status == TransferProof.Status.PENDING:
            fieldsets.append(
                ("Vérification", {"fields": ("decision", "date_recue", "montant_recu", "motif")})
            )
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["date_recue"].initial = local_date(timezone.now())
        if obj is not None and obj.recharge_id:  # a recharge is credited, not an invoice paid
            form.base_fields["decision"].choices = [
                ("", "—"),
                ("approve", _("Accepter (recharge créditée)")),
                ("reject", "Refuser"),
            ]
        if obj is not None and obj.invoice_id:
            form.base_fields["montant_recu"].initial = invoice_balance_due(obj.invoice)
        elif obj is not None:
            form.base_fields["montant_recu"].initial = obj.recharge.total_ttc
        return form

    @admin.display(description="pour")
    def target(self, proof: TransferProof) -> str:
        return proof.invoice.number if proof.invoice_id else proof.recharge.reference

    @admin.display(description="fichier")
    def file_link(self, proof: TransferProof) -> str:
        url = reverse("billing:proof_file", args=[proof.pk])
        return format_html('<a href="{}" target="_blank">Ouvrir la preuve</a>', url)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        decision = form.cleaned_data.get("decision")
        try:
            if decision == "approve":
                proof_approve(
                    proof=obj,
                    received_on=form.cleaned_data["date_recue"],
                    amount=form.cleaned_data["montant_recu"],
                    by=request.user,
                )
            elif decision == "reject":
                proof_reject(proof=obj, reason=form.cleaned_data["motif"], by=request.user)
        except ProofError as error:
            self.message_user(request, str(error), messages.ERROR)

    def save_related(self, request, form, formsets, change) -> None:
        pass


class OverpaidFilter(admin.SimpleListFilter):
    title = "trop-perçu"
    parameter_name = "trop_percu"

    def lookups(self, request, model_admin):
        return [("oui", "À rembourser")]

    def queryset(self, request, queryset):
        if self.value() == "oui":
            return queryset.filter(overpaid__gt=0)
        return queryset


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "invoice",
        "account",
        "amount",
        "overpaid",
        "method",
        "received_at",
        "recorded_by",
    )
    list_filter = ("method", OverpaidFilter)
    list_select_related = ("invoice", "account", "recorded_by")
    search_fields = ("invoice__number", "account__name")
    show_full_result_count = False


class CreditNoteLineInline(admin.TabularInline):
    model = CreditNoteLine
    extra = 0
    fields = ("position", "description", "amount")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ("number", "invoice", "account", "total_ttc", "issued_at", "issued_by")
    list_select_related = ("invoice", "account", "issued_by")
    search_fields = ("number", "invoice__number", "account__name")
    inlines = (CreditNoteLineInline,)
    fields = (
        "number",
        "invoice",
        "account",
        "reason",
        "total_ht",
        "tva_rate",
        "tva_amount",
        "total_ttc",
        "issued_at",
        "issued_by",
        "pdf",
    )
    readonly_fields = fields

    @admin.display(description="PDF")
    def pdf(self, note: CreditNote) -> str:
        url = reverse("admin:billing_creditnote_pdf", args=[note.pk])
        return format_html('<a href="{}">Télécharger {}.pdf</a>', url, note.number)

    def get_urls(self):
        pdf = path(
            "<int:pk>/pdf/",
            self.admin_site.admin_view(self.pdf_view),
            name="billing_creditnote_pdf",
        )
        return [pdf, *super().get_urls()]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        note = get_object_or_404(CreditNote, pk=pk)
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{note.number}.pdf"'
        return response


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "event_type", "chargily_id", "verdict", "detail")
    list_filter = ("verdict",)
    search_fields = ("chargily_id",)
    show_full_result_count = False


@admin.register(ChargilyCheckout)
class ChargilyCheckoutAdmin(ReadOnlyAdmin):
    list_display = (
        "chargily_id",
        "account",
        "invoice",
        "recharge",
        "amount",
        "status",
        "created_at",
    )
    list_filter = ("status",)
    list_select_related = ("account", "invoice", "recharge")
    search_fields = ("chargily_id", "invoice__number", "account__name")


@admin.register(Recharge)
class RechargeAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "account",
        "amount",
        "total_ttc",
        "status",
        "created_at",
        "invoice",
    )
    list_filter = ("status",)
    list_select_related = ("account", "invoice")
    search_fields = ("account__name",)


@admin.register(AccountStanding)
class AccountStandingAdmin(admin.ModelAdmin):
    list_display = ("account", "suspended_at", "suspended_for", "exempt", "exempt_by")
    list_filter = ("exempt",)
    list_select_related = ("account", "suspended_for", "exempt_by")
    search_fields = ("account__name",)
    readonly_fields = ("account", "suspended_at", "suspended_for", "exempt", "exempt_by")
    actions = ("exempt_on", "exempt_off")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _exempt(self, request, queryset, exempt: bool) -> None:
        for standing in queryset.select_related("account"):
            account_exemption_set(account=standing.account, exempt=exempt, by=request.user)
        self.message_user(request, "Exemption mise à jour.", messages.SUCCESS)

    @admin.action(description="Exempter de la suspension", permissions=["change"])
    def exempt_on(self, request, queryset):
        self._exempt(request, queryset, True)

    @admin.action(description="Retirer l'exemption", permissions=["change"])
    def exempt_off(self, request, queryset):
        self._exempt(request, queryset, False)


class CreditNoteForm(forms.Form):
    motif = forms.CharField(label="Motif de l'avoir", widget=forms.Textarea(attrs={"rows": 3}))
    lignes = forms.MultipleChoiceField(
        label="Lignes à créditer (aucune cochée : toute la facture)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def credit_note_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """« Émettre un avoir » on an invoice: all of it or some lines, with a reason."""
    if not model_admin.has_status_permission(request):
        raise PermissionDenied
    invoice = get_object_or_404(Invoice, pk=pk)
    lines = list(invoice.lines.order_by("position"))
    choices = [
        (
            str(line.pk),
            f"{line.description} — {format_dzd(line.amount - line_credited(line))} HT à créditer",
        )
        for line in lines
    ]
    form = CreditNoteForm(request.POST or None)
    form.fields["lignes"].choices = choices
    if request.method == "POST" and form.is_valid():
        chosen = [int(pk) for pk in form.cleaned_data["lignes"]] or None
        try:
            note = credit_note_issue(
                invoice=invoice, reason=form.cleaned_data["motif"], line_ids=chosen, by=request.user
            )
        except CreditNoteError as error:
            form.add_error(None, str(error))
        else:
            model_admin.message_user(request, f"Avoir {note.number} émis.", messages.SUCCESS)
            return redirect("admin:billing_invoice_change", invoice.pk)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Invoice._meta,
        "title": f"Émettre un avoir sur la facture {invoice.number}",
        "invoice": invoice,
        "form": form,
    }
    return TemplateResponse(request, "billing/admin/credit_note_form.html", context)
