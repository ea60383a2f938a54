"""Admin for metering: usage events, billing periods and credit alerts, all read-only.

The ledger is written by the metering service only; staff look, filter and search.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from accounts.models import Account, ApiKey
from iafactory.formatting import month_label

from ..models import BillingPeriod, CreditAlert, PeriodFee, UsageEvent
from ..periods import Month
from .invoices import AccountFilter


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows (`SELECT COUNT(*) FROM (… LIMIT CAP + 1)`), never the whole
    table: « 2 001 » reads "more than 2 000" (40 pages of 50); narrow the filters to see
    further."""

    CAP = 2_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


class MonthFilter(admin.SimpleListFilter):
    """The month of the events (Algiers): the current one by default, so that the list always
    reads an indexed range of occurred_at, never the whole table."""

    title = "mois"
    parameter_name = "mois"
    ALL = "tous"

    def lookups(self, request, model_admin):
        month = Month.current()
        months = []
        for _ in range(12):
            months.append((str(month), month_label(month)))
            month = month.previous()
        return [*months, (self.ALL, "Tous les mois (lent)")]

    def month(self) -> Month | None:
        value = self.value()
        if value == self.ALL:
            return None
        try:
            return Month.parse(value) if value else Month.current()
        except ValueError:
            return Month.current()

    def choices(self, changelist):
        chosen = self.month()
        for value, label in self.lookup_choices:
            selected = (value == self.ALL and chosen is None) or (
                chosen is not None and value == str(chosen)
            )
            yield {
                "selected": selected,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        month = self.month()
        if month is None:
            return queryset
        return queryset.filter(occurred_at__gte=month.starts_at, occurred_at__lt=month.ends_at)


class UsageAccountFilter(AccountFilter):
    """Account number or part of its name, resolved to account ids first: the events are then
    read through the (account, occurred_at) index, never joined to every account."""

    MAX_ACCOUNTS = 50

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(account_id=int(value))
        ids = list(
            Account.objects.filter(name__icontains=value)
            .order_by("pk")
            .values_list("pk", flat=True)[: self.MAX_ACCOUNTS]
        )
        return queryset.filter(account_id__in=ids)


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
        "prepaid",
        "overage",
        "written_off",
        "pay_as_you_go",
    ]
    # The biggest table: no date hierarchy (it reads every date of the range), no facets
    # (counts), no full count; accounts through a text box, never listed in the sidebar.
    list_filter = [MonthFilter, UsageAccountFilter, "model", "pay_as_you_go"]
    search_fields = ["idempotency_key"]  # the search box; get_search_results does the work
    search_help_text = (
        "E-mail du client, nom de l'organisation, préfixe de clé (iaf_…) ou clé d'idempotence "
        "exacte (dans le mois choisi)."
    )
    list_select_related = ["account", "model", "api_key"]
    paginator = CappedCountPaginator
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = [f.name for f in UsageEvent._meta.fields]
    MAX_MATCHES = 50

    def get_search_results(self, request, queryset, search_term):
        """Accounts (by owner e-mail or organisation) and keys (by prefix) are looked up first,
        then the events by their ids; a term matching none is an exact idempotency key."""
        term = search_term.strip()
        if not term:
            return queryset, False
        accounts = Account.objects.filter(
            Q(owner__email__iexact=term) if "@" in term else Q(name__icontains=term)
        )
        account_ids = list(accounts.order_by("pk").values_list("pk", flat=True)[: self.MAX_MATCHES])
        key_ids = list(
            ApiKey.objects.filter(prefix__startswith=term)
            .order_by("pk")
            .values_list("pk", flat=True)[: self.MAX_MATCHES]
            if term.startswith("iaf_")
            else []
        )
        if account_ids or key_ids:
            return queryset.filter(Q(account_id__in=account_ids) | Q(api_key_id__in=key_ids)), False
        return queryset.filter(pk__in=self._events_with_idempotency_key(term)), False

    def _events_with_idempotency_key(self, key: str) -> list[int]:
        """The ids of the events (one per account at most) whose idempotency key is `key`.

        No index leads with the key (PostgreSQL has no skip scan), so a filter on it alone
        reads the whole month; instead each account probes the unique (account,
        idempotency_key) index once: the cost follows the number of accounts, not of events."""
        probe = UsageEvent.objects.filter(account_id=OuterRef("pk"), idempotency_key=key)
        return list(
            Account.objects.annotate(event=Subquery(probe.order_by().values("pk")[:1]))
            .filter(event__isnull=False)
            .order_by("pk")
            .values_list("event", flat=True)[: self.MAX_MATCHES]
        )


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
        "events_link",
        "created_at",
        "closed_at",
    ]
    readonly_fields = fields
    inlines = [PeriodFeeInline, CreditAlertInline]

    @admin.display(description="crédits restants")
    def remaining_credits(self, obj):
        return obj.remaining

    @admin.display(description="événements")
    def events_link(self, obj):
        # The period's events are never loaded here: a link to the list, filtered on the
        # account and the month (both indexed).
        url = reverse("admin:billing_usageevent_changelist")
        query = urlencode({"compte": obj.account_id, "mois": str(Month.of(obj.month))})
        return format_html('<a href="{}?{}">Voir les événements du mois</a>', url, query)


@admin.register(CreditAlert)
class CreditAlertAdmin(ReadOnly):
    list_display = ["period", "kind", "api_key", "threshold", "created_at", "sent_at"]
    list_filter = ["kind", "threshold", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["period__account__name", "period__account__owner__email"]
    list_select_related = ["period__account", "api_key"]
