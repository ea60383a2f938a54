"""Admin for metering: usage events, billing periods and credit alerts, all read-only.

The ledger is written by the metering service only; staff look, filter and search.
"""

from django.contrib import admin
from django.db.models import Sum

from ..models import BillingPeriod, CreditAlert, PeriodFee, UsageEvent
from .invoices import AccountFilter


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnly):
    list_display = [
        "occurred_at",
        "account",
        "model",
        "api_key",
        "input_tokens",
        "output_tokens",
        "images",
        "cost",
        "credits",
        "overage",
        "written_off",
        "pay_as_you_go",
    ]
    # The biggest table: accounts are filtered through a text box, never listed in the sidebar.
    list_filter = [
        "model",
        ("occurred_at", admin.DateFieldListFilter),
        "pay_as_you_go",
        AccountFilter,
    ]
    search_fields = ["idempotency_key", "account__name", "account__owner__email", "api_key__prefix"]
    list_select_related = ["account", "model", "api_key"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # COUNT(*) over millions of events on every page is slow
    readonly_fields = [f.name for f in UsageEvent._meta.fields]


class PeriodFeeInline(admin.TabularInline):
    model = PeriodFee
    extra = 0
    can_delete = False
    fields = ["plan", "first_day", "days", "amount"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class CreditAlertInline(admin.TabularInline):
    model = CreditAlert
    extra = 0
    can_delete = False
    fields = ["kind", "api_key", "threshold", "reference", "used", "created_at", "sent_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BillingPeriod)
class BillingPeriodAdmin(ReadOnly):
    list_display = [
        "account",
        "month",
        "plan",
        "included_credits",
        "consumed",
        "overage",
        "written_off",
        "status",
    ]
    list_filter = ["status", "month", "plan"]
    search_fields = ["account__name", "account__owner__email"]
    list_select_related = ["account", "plan"]
    date_hierarchy = "month"
    fields = [
        "account",
        "month",
        "plan",
        "status",
        "included_credits",
        "consumed",
        "remaining_credits",
        "overage",
        "written_off",
        "events_total",
        "created_at",
        "closed_at",
    ]
    readonly_fields = fields
    inlines = [PeriodFeeInline, CreditAlertInline]

    @admin.display(description="crédits restants")
    def remaining_credits(self, obj):
        return obj.remaining

    @admin.display(description="événements (coût, nombre)")
    def events_total(self, obj):
        totals = obj.events.aggregate(cost=Sum("cost"))
        count = obj.events.count()
        return f"{totals['cost'] or 0} DZD, {count} événement(s)"


@admin.register(CreditAlert)
class CreditAlertAdmin(ReadOnly):
    list_display = ["period", "kind", "api_key", "threshold", "created_at", "sent_at"]
    list_filter = ["kind", "threshold", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["period__account__name", "period__account__owner__email"]
    list_select_related = ["period__account", "api_key"]
