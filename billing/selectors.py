"""Reads of usage that the API, the espace client and the admin share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet, Sum

from accounts.models import Account, ApiKey
from catalog.models import AIModel, Plan

from .metering.authorization import may_spend, payg_cap_remaining
from .models import BillingPeriod, KeySpend, PlanChange, Subscription, UsageDaily
from .money import ZERO, round_money
from .periods import Month
from .services.periods import current_period
from .services.prepaid import prepaid_balance
from .services.subscriptions import scheduled_change

# Every usage read aggregates the daily rollups (UsageDaily), never raw events: its cost depends
# on the days, models and keys shown, not on how many events the account sent.
TOTALS = {
    "calls": Sum("events"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "images": Sum("images"),
    "cost": Sum("cost"),
    "credits": Sum("credits"),
    "prepaid": Sum("prepaid"),
    "overage": Sum("overage"),
    "written_off": Sum("written_off"),
}
# Billing has no data before 2000; far-future dates would overflow date arithmetic.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)
MAX_USAGE_DAYS = 366
AMOUNTS = ("cost", "credits", "prepaid", "overage", "written_off")


def usage_days(
    *,
    account: Account,
    start: date,
    end: date,
    model: AIModel | None = None,
    api_key: ApiKey | None = None,
) -> QuerySet[UsageDaily]:
    """The account's rollup rows from `start` to `end` included (days in Africa/Algiers).

    Filters by ids (resolved by the caller) so that the query stays on the unique index
    (account, day, model, api_key)."""
    rows = UsageDaily.objects.filter(account=account, day__gte=start, day__lte=end)
    if model is not None:
        rows = rows.filter(model_id=model.pk)
    if api_key is not None:
        rows = rows.filter(api_key_id=api_key.pk)
    return rows


def _clean(row: dict) -> dict:
    for name in ("input_tokens", "output_tokens", "images", "calls"):
        row[name] = row[name] or 0
    for name in AMOUNTS:
        row[name] = row[name] if row[name] is not None else ZERO
    return row


def usage_per_day_and_model(rows: QuerySet[UsageDaily]) -> list[dict]:
    """One row per local day and model, oldest first: counts and where the cost went."""
    grouped = (
        rows.order_by()
        .values("day", "model__slug")
        .annotate(**TOTALS)
        .order_by("day", "model__slug")
    )
    return [_clean({**row, "model": row.pop("model__slug")}) for row in grouped]


def usage_per_model(rows: QuerySet[UsageDaily]) -> list[dict]:
    grouped = (
        rows.order_by()
        .values("model__slug", "model__name", "model__kind")
        .annotate(**TOTALS)
        .order_by("-cost", "model__slug")
    )
    return [
        _clean(
            {
                **row,
                "model": row.pop("model__slug"),
                "name": row.pop("model__name"),
                "kind": row.pop("model__kind"),
            }
        )
        for row in grouped
    ]


def usage_per_key(rows: QuerySet[UsageDaily]) -> list[dict]:
    grouped = (
        rows.order_by()
        .values("api_key_id", "api_key__prefix", "api_key__name", "api_key__revoked_at")
        .annotate(**TOTALS)
        .order_by("-cost", "api_key__prefix")
    )
    return [
        _clean(
            {
                **row,
                "prefix": row.pop("api_key__prefix"),
                "name": row.pop("api_key__name"),
                "revoked_at": row.pop("api_key__revoked_at"),
            }
        )
        for row in grouped
    ]


def usage_totals(rows: QuerySet[UsageDaily]) -> dict:
    return _clean(rows.order_by().aggregate(**TOTALS))


def _sum_rows(rows: list[dict]) -> dict:
    """The totals of per-model rows (exact sums, no further query)."""
    return {
        name: sum((row[name] for row in rows), ZERO if name in AMOUNTS else 0) for name in TOTALS
    }


@dataclass(frozen=True)
class KeyBudget:
    """One key's spend in a month (credits, prepaid and overage: what it charged, as the
    budget counts) against its monthly budget."""

    api_key: ApiKey
    month: Month
    spent: Decimal

    @property
    def budget(self) -> Decimal | None:
        return self.api_key.monthly_budget

    @property
    def percent(self) -> int | None:
        if self.budget is None:
            return None
        if self.budget <= 0:
            return 100
        return min(100, int(self.spent * 100 / self.budget))

    @property
    def remaining(self) -> Decimal | None:
        if self.budget is None:
            return None
        return max(ZERO, self.budget - self.spent)


def key_budgets(*, account: Account, month: Month) -> list[KeyBudget]:
    """Every key of the account (revoked ones too when they spent this month), with what it
    charged in `month`, read from the rollups."""
    spent = {
        row["api_key_id"]: (row["credits"] or ZERO)
        + (row["prepaid"] or ZERO)
        + (row["overage"] or ZERO)
        for row in usage_days(account=account, start=month.first_day, end=month.last_day)
        .order_by()
        .values("api_key_id")
        .annotate(credits=Sum("credits"), prepaid=Sum("prepaid"), overage=Sum("overage"))
    }
    keys = ApiKey.objects.filter(account=account).order_by("created_at", "pk")
    return [
        KeyBudget(api_key=key, month=month, spent=spent.get(key.pk, ZERO))
        for key in keys
        if key.revoked_at is None or key.pk in spent
    ]


@dataclass(frozen=True)
class UsageFilters:
    """What the consommation page, its export and GET /api/v1/usage/ narrow usage by."""

    start: date
    end: date
    model: AIModel | None = None
    api_key: ApiKey | None = None

    def rows(self, *, account: Account) -> QuerySet[UsageDaily]:
        return usage_days(
            account=account,
            start=self.start,
            end=self.end,
            model=self.model,
            api_key=self.api_key,
        )


@dataclass(frozen=True)
class MonthUsage:
    """A range (by default a month) of one account's usage, for the espace client."""

    month: Month
    period: BillingPeriod | None
    per_model: list[dict]
    per_key: list[dict]
    per_day: list[dict]
    totals: dict

    @property
    def total_cost(self) -> Decimal:
        """The displayed total: each model's cost rounded to the centime, then summed, as the
        invoice totals its rounded lines (so the per-model rows add up to it)."""
        return sum((round_money(row["cost"]) for row in self.per_model), ZERO)


def month_usage(
    *, account: Account, month: Month, filters: UsageFilters | None = None
) -> MonthUsage:
    if filters is None:
        filters = UsageFilters(start=month.first_day, end=month.last_day)
    rows = filters.rows(account=account)
    per_model = usage_per_model(rows)
    return MonthUsage(
        month=month,
        period=BillingPeriod.objects.filter(account=account, month=month.first_day).first(),
        per_model=per_model,
        per_key=usage_per_key(rows),
        per_day=usage_per_day_and_model(rows),
        totals=_sum_rows(per_model),
    )


USAGE_CSV_HEADER = [
    "Jour",
    "Modèle",
    "Clé API",
    "Nom de la clé",
    "Appels",
    "Tokens entrée",
    "Tokens sortie",
    "Images",
    "Coût (DZD HT)",
    "Sur les crédits (DZD)",
    "Sur le solde prépayé (DZD)",
    "Dépassement (DZD)",
    "Non facturé (DZD)",
]


def usage_export_rows(rows: QuerySet[UsageDaily], *, chunk_size: int = 2000) -> Iterator[tuple]:
    """The rollup rows, one per day, model and key, oldest first, read in chunks (a server-side
    cursor on PostgreSQL): memory stays flat whatever the range."""
    return (
        rows.order_by("day", "model__slug", "api_key__prefix")
        .values_list(
            "day",
            "model__slug",
            "api_key__prefix",
            "api_key__name",
            "events",
            "input_tokens",
            "output_tokens",
            "images",
            *AMOUNTS,
        )
        .iterator(chunk_size=chunk_size)
    )


def usage_months(*, account: Account) -> list[Month]:
    """Months the account has a period for, newest first (the current one always)."""
    months = {
        Month.of(day)
        for day in BillingPeriod.objects.filter(account=account).values_list("month", flat=True)
    }
    months.add(Month.current())
    return sorted(months, reverse=True)


# The espace client's account overview


@dataclass(frozen=True)
class AccountOverview:
    """What the espace client shows about an account this month."""

    account: Account
    subscription: Subscription
    period: BillingPeriod
    scheduled: PlanChange | None
    prepaid_balance: Decimal = ZERO

    @property
    def plan(self) -> Plan | None:
        return self.subscription.plan

    @property
    def month(self) -> Month:
        return Month.of(self.period.month)

    @property
    def used_percent(self) -> int:
        """Share of the included credits consumed, 0 to 100 (100 when there are none)."""
        included = self.period.included_credits
        if included <= 0:
            return 100 if self.period.consumed > 0 else 0
        return min(100, int(self.period.consumed * 100 / included))

    @property
    def remaining(self) -> Decimal:
        return self.period.remaining

    @property
    def payg_cap(self) -> Decimal | None:
        return self.subscription.payg_cap

    @property
    def payg_cap_remaining(self) -> Decimal | None:
        """What the ceiling still allows this month; None without a ceiling."""
        return payg_cap_remaining(period=self.period, cap=self.subscription.payg_cap)

    @property
    def payg_cap_reached(self) -> bool:
        return self.subscription.pay_as_you_go and self.payg_cap_remaining == 0

    @property
    def payg_cap_percent(self) -> int:
        cap = self.subscription.payg_cap
        if not cap:
            return 100 if cap is not None else 0
        return min(100, int(self.period.overage * 100 / cap))

    @property
    def can_use_api(self) -> bool:
        return may_spend(
            period=self.period,
            pay_as_you_go=self.subscription.pay_as_you_go,
            payg_cap=self.subscription.payg_cap,
            prepaid_balance=self.prepaid_balance,
        )


def account_overview(*, account: Account) -> AccountOverview:
    period = current_period(account=account)
    subscription = Subscription.objects.select_related("plan").get(account=account)
    return AccountOverview(
        account=account,
        subscription=subscription,
        period=period,
        scheduled=scheduled_change(account=account),
        prepaid_balance=prepaid_balance(account=account),
    )


def key_spends(*, account: Account, month: Month) -> dict[int, Decimal]:
    """What each of the account's keys charged in `month` (credits, prepaid and overage)."""
    return dict(
        KeySpend.objects.filter(api_key__account=account, month=month.first_day).values_list(
            "api_key_id", "charged"
        )
    )


def plans_offered(*, current: Plan | None = None) -> list[Plan]:
    """The formulas a customer can pick, lowest first, plus the current one if withdrawn."""
    plans = list(Plan.objects.filter(is_active=True).order_by("included_credits", "order"))
    if current is not None and all(plan.pk != current.pk for plan in plans):
        plans.append(current)
        plans.sort(key=lambda plan: (plan.included_credits, plan.order))
    return plans
