"""The accounts a monthly close could not close (« Clôtures en échec »): read-only for staff.

A failure stays listed, resolved or not; the next run of the close (or the daily housekeeping)
retries the account and marks it resolved once its month is closed.
"""

from django.contrib import admin

from ..models import CloseFailure
from .subscriptions import ReadOnlyAdmin, _account_link


class StateFilter(admin.SimpleListFilter):
    title = "état"
    parameter_name = "etat"

    def lookups(self, request, model_admin):
        return [("en_echec", "En échec"), ("resolue", "Résolue")]

    def queryset(self, request, queryset):
        if self.value() == "en_echec":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolue":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(CloseFailure)
class CloseFailureAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "month_display",
        "short_error",
        "attempts",
        "first_failed_at",
        "last_failed_at",
        "resolved_at",
    ]
    list_select_related = ["account"]
    list_filter = [StateFilter, "month"]
    search_fields = ["account__name", "account__owner__email"]
    fields = [
        "account_link",
        "month_display",
        "error",
        "attempts",
        "first_failed_at",
        "last_failed_at",
        "resolved_at",
    ]
    readonly_fields = fields

    @admin.display(description="mois", ordering="month")
    def month_display(self, failure):
        return f"{failure.month:%Y-%m}"

    @admin.display(description="erreur")
    def short_error(self, failure):
        return failure.error if len(failure.error) <= 120 else failure.error[:119] + "…"

    @admin.display(description="compte client")
    def account_link(self, failure):
        return _account_link(failure.account)
