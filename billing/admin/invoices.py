"""Admin for invoices: read-only (issued invoices never change); payments and credit notes
(never a void) through services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from iafactory.formatting import month_label

from ..models import Invoice, InvoiceLine
from ..pdf import invoice_pdf
from ..services.invoices import InvoiceStateError, invoice_mark_paid, line_quantity
from .money_in import credit_note_view


def _party(name: str, address: str, email: str, ids: list[tuple[str, str]]) -> str:
    lines = [name, *address.splitlines(), email] + [
        f"{label} : {value or '—'}" for label, value in ids
    ]
    return format_html_join("", "{}<br>", ((line,) for line in lines if line))


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "kind_display", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields
    ordering = ("position",)

    @admin.display(description="type")
    def kind_display(self, line: InvoiceLine) -> str:
        return line.get_kind_display()

    @admin.display(description="quantité")
    def quantity(self, line: InvoiceLine) -> str:
        return line_quantity(line).replace("\n", " · ")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StatusFilter(admin.SimpleListFilter):
    title = "statut"
    parameter_name = "statut"

    def lookups(self, request, model_admin):
        return Invoice.Status.choices

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class MonthFilter(admin.SimpleListFilter):
    title = "mois facturé"
    parameter_name = "mois"

    def lookups(self, request, model_admin):
        months = Invoice.objects.dates("month", "month", order="DESC")
        return [(f"{month:%Y-%m}", month_label(month)) for month in months]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        year, _, month = self.value().partition("-")
        if not (year.isdigit() and month.isdigit()):
            return queryset.none()
        return queryset.filter(month__year=int(year), month__month=int(month))


class AccountFilter(admin.SimpleListFilter):
    """A text box (account number or part of its name): a list of every account would not fit."""

    title = "compte"
    parameter_name = "compte"
    template = "billing/invoice_admin_account_filter.html"

    def lookups(self, request, model_admin):
        # The filter is shown only when it has choices; the only one is "any".
        return [("", "Tous")]

    def choices(self, changelist):
        query = changelist.get_filters_params()
        query.pop(self.parameter_name, None)
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "hidden": [
                (key, value)
                for key, values in query.items()
                for value in (values if isinstance(values, list) else [values])
            ],
        }

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(account_id=int(value))
        return queryset.filter(account__name__icontains=value)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "month_display",
        "customer_name",
        "total_ht",
        "tva_amount",
        "total_ttc",
        "status_display",
        "issued_at",
    )
    list_filter = (StatusFilter, MonthFilter, AccountFilter)
    search_fields = ("number", "customer_name", "customer_email", "account__name")
    date_hierarchy = "issued_at"
    ordering = ("-year", "-sequence")
    list_select_related = ("account",)
    show_full_result_count = False
    inlines = (InvoiceLineInline,)
    actions = ("mark_paid",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "status_display",
                    "account_link",
                    "month_display",
                    "pdf",
                    "credit_note_link",
                )
            },
        ),
        ("Montants (DZD)", {"fields": ("total_ht", "tva_rate", "tva_amount", "total_ttc")}),
        ("Dates", {"fields": ("issued_at", "due_date", "paid_at", "voided_at", "emailed_at")}),
        ("Parties, telles qu'à l'émission", {"fields": ("customer", "seller_display")}),
    )

    @admin.display(description="statut", ordering="status")
    def status_display(self, invoice: Invoice) -> str:
        return invoice.get_status_display()

    @admin.display(description="PDF")
    def pdf(self, invoice: Invoice) -> str:
        url = reverse("admin:billing_invoice_pdf", args=[invoice.pk])
        return format_html('<a href="{}">Télécharger {}.pdf</a>', url, invoice.number)

    @admin.display(description="client")
    def customer(self, invoice: Invoice) -> str:
        return _party(
            invoice.customer_name,
            invoice.customer_address,
            invoice.customer_email,
            [
                ("NIF", invoice.customer_nif),
                ("NIS", invoice.customer_nis),
                ("RC", invoice.customer_rc),
            ],
        )

    @admin.display(description="vendeur")
    def seller_display(self, invoice: Invoice) -> str:
        seller = invoice.seller
        return _party(
            seller.get("name", ""),
            seller.get("address", ""),
            seller.get("email", ""),
            [
                ("NIF", seller.get("nif", "")),
                ("NIS", seller.get("nis", "")),
                ("RC", seller.get("rc", "")),
                ("Article d'imposition", seller.get("article", "")),
                ("Banque", " · ".join(seller.get("bank", "").splitlines())),
            ],
        )

    @admin.display(description="avoir")
    def credit_note_link(self, invoice: Invoice) -> str:
        url = reverse("admin:billing_invoice_credit_note", args=[invoice.pk])
        return format_html('<a class="button" href="{}">Émettre un avoir</a>', url)

    def get_urls(self):
        pdf = path(
            "<int:pk>/pdf/",
            self.admin_site.admin_view(self.pdf_view),
            name="billing_invoice_pdf",
        )
        credit_note = path(
            "<int:pk>/avoir/",
            self.admin_site.admin_view(lambda request, pk: credit_note_view(self, request, pk)),
            name="billing_invoice_credit_note",
        )
        return [pdf, credit_note, *super().get_urls()]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response

    @admin.display(description="mois", ordering="month")
    def month_display(self, invoice: Invoice) -> str:
        return month_label(invoice.month)

    @admin.display(description="compte")
    def account_link(self, invoice: Invoice) -> str:
        url = reverse("admin:accounts_account_change", args=[invoice.account_id])
        return format_html('<a href="{}">{}</a>', url, invoice.account)

    def get_readonly_fields(self, request, obj=None):  # every field shown is read-only
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # View only: the actions below are the only changes, and they go through services.
        return False

    def has_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.change_invoice")

    def change_view(self, request, object_id, form_url="", extra_context=None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def _apply(self, request, queryset: QuerySet[Invoice], service, done: str) -> None:
        changed, refused = 0, []
        for invoice in queryset.order_by("pk"):
            try:
                service(invoice=invoice, by=request.user)
                changed += 1
            except InvoiceStateError as error:
                refused.append(str(error))
        if changed:
            self.message_user(request, f"{changed} facture(s) {done}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Marquer payée", permissions=["status"])
    def mark_paid(self, request, queryset):
        self._apply(request, queryset, invoice_mark_paid, "marquée(s) payée(s)")
