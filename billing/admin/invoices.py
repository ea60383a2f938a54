"""Admin for invoices: read-only (issued invoices never change), paid and void through services."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from ..models import Invoice, InvoiceLine
from ..services.invoices import InvoiceStateError, invoice_mark_paid, invoice_void, month_label


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = (
        "position",
        "kind",
        "description",
        "days",
        "input_tokens",
        "output_tokens",
        "images",
        "amount",
    )
    readonly_fields = fields
    ordering = ("position",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
        "status",
        "issued_at",
    )
    list_filter = ("status", MonthFilter, AccountFilter)
    search_fields = ("number", "customer_name", "customer_email", "account__name")
    date_hierarchy = "issued_at"
    ordering = ("-year", "-sequence")
    list_select_related = ("account",)
    show_full_result_count = False
    inlines = (InvoiceLineInline,)
    actions = ("mark_paid", "void")
    fieldsets = (
        (None, {"fields": ("number", "status", "account_link", "month", "period")}),
        ("Montants (DZD)", {"fields": ("total_ht", "tva_rate", "tva_amount", "total_ttc")}),
        ("Dates", {"fields": ("issued_at", "paid_at", "voided_at", "emailed_at")}),
        (
            "Client à l'émission",
            {
                "fields": (
                    "customer_name",
                    "customer_email",
                    "customer_address",
                    "customer_nif",
                    "customer_nis",
                    "customer_rc",
                )
            },
        ),
        ("Vendeur à l'émission", {"fields": ("seller",)}),
    )

    @admin.display(description="mois", ordering="month")
    def month_display(self, invoice: Invoice) -> str:
        return month_label(invoice.month)

    @admin.display(description="compte")
    def account_link(self, invoice: Invoice) -> str:
        url = reverse("admin:accounts_account_change", args=[invoice.account_id])
        return format_html('<a href="{}">{}</a>', url, invoice.account)

    def get_readonly_fields(self, request, obj=None):
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
                service(invoice=invoice)
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

    @admin.action(description="Annuler", permissions=["status"])
    def void(self, request, queryset):
        self._apply(request, queryset, invoice_void, "annulée(s)")
