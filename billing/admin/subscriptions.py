"""Admin for subscriptions, formula changes, the pay-as-you-go history, prepaid balances and
key spends: read-only.

Staff change a formula or the pay-as-you-go switch from the customer account's actions, which
go through billing.services.subscriptions like the espace client does; a prepaid balance is
adjusted by the account's action « Ajuster le solde prépayé… » (billing.services.prepaid).
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ..models import KeySpend, PayAsYouGoChange, PlanChange, PrepaidBalance, Subscription


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _account_link(account):
    url = reverse("admin:accounts_account_change", args=[account.pk])
    return format_html('<a href="{}">{}</a>', url, account)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "plan",
        "pay_as_you_go",
        "payg_cap",
        "pay_as_you_go_changed_at",
        "started_at",
    ]
    list_select_related = ["account", "plan"]
    list_filter = ["plan", "pay_as_you_go"]
    search_fields = ["account__name", "account__owner__email", "account__nif"]
    fields = [
        "account_link",
        "plan",
        "pay_as_you_go",
        "payg_cap",
        "pay_as_you_go_changed_at",
        "started_at",
    ]
    readonly_fields = fields

    @admin.display(description="compte client")
    def account_link(self, subscription):
        return _account_link(subscription.account)


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "requested_at",
        "account",
        "kind",
        "from_plan",
        "to_plan",
        "status",
        "effective_at",
        "credits_added",
        "requested_by",
    ]
    list_select_related = ["account", "from_plan", "to_plan", "requested_by"]
    list_filter = ["kind", "status", "to_plan"]
    search_fields = ["account__name", "account__owner__email"]
    date_hierarchy = "requested_at"


@admin.register(PayAsYouGoChange)
class PayAsYouGoChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "account", "enabled", "cap", "changed_by"]
    list_select_related = ["account", "changed_by"]
    list_filter = ["enabled"]
    search_fields = ["account__name", "account__owner__email"]
    date_hierarchy = "changed_at"


@admin.register(PrepaidBalance)
class PrepaidBalanceAdmin(ReadOnlyAdmin):
    list_display = ["account", "balance", "updated_at"]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__owner__email"]


@admin.register(KeySpend)
class KeySpendAdmin(ReadOnlyAdmin):
    list_display = ["month", "api_key", "account", "charged", "budget"]
    list_select_related = ["api_key__account"]
    search_fields = ["api_key__prefix", "api_key__name", "api_key__account__name"]
    date_hierarchy = "month"

    @admin.display(description="compte client")
    def account(self, spend):
        return spend.api_key.account

    @admin.display(description="budget mensuel")
    def budget(self, spend):
        return spend.api_key.monthly_budget
