"""Prepaid balances and key spends: read-only lists (staff adjust a balance from the customer
account's action « Ajuster le solde prépayé… », which goes through billing.services.prepaid)."""

from django.contrib import admin

from ..models import KeySpend, PrepaidBalance
from .subscriptions import ReadOnlyAdmin


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
