"""Reads of usage that the API, the espace client and the admin share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

from accounts.models import Account
from catalog.models import Plan

from .metering.authorization import may_spend, payg_cap_remaining
from .models import BillingPeriod, KeySpend, PlanChange, Subscription, UsageEvent
from .money import ZERO
from .periods import BILLING_TZ, Month
from .services.periods import current_period
from .services.prepaid import prepaid_balance
from .services.subscriptions import scheduled_change

TOTALS = {
    "calls": Count("pk"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "images": Sum("images"),
    "cost": Sum("cost"),
    "credits": Sum("credits"),
    "overage": Sum("overage"),
    "written_off": Sum("written_off"),
}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BILLING_TZ)


def usage_events(
    *,
    account: Account,
    start: date,
    end: date,
    model_slug: str | None = None,
    key_prefix: str | None = None,
) -> QuerySet[UsageEvent]:
    """The account's events from `start` to `end` included (days in Africa/Algiers)."""
    events = UsageEvent.objects.filter(
        account=account,
        occurred_at__gte=_day_start(start),
        occurred_at__lt=_day_start(end + timedelta(days=1)),
    )
    if model_slug:
        events = events.filter(model__slug=model_slug)
    if key_prefix:
        events = events.filter(api_key__prefix=key_prefix)
    return events


def _clean(row: dict) -> dict:
    for name in ("input_tokens", "output_tokens", "images", "calls"):
        row[name] = row[name] or 0
    for name in ("cost", "credits", "overage", "written_off"):
        row[name] = row[name] if row[name] is not None else ZERO
    return row


def usage_per_day_and_model(events: QuerySet[UsageEvent]) -> list[dict]:
    """One row per local day and model, oldest first: counts and where the cost went."""
    rows = (
        events.order_by()
        .annotate(day=TruncDate("occurred_at", tzinfo=BILLING_TZ))
        .values("day", "model__slug")
        .annotate(**TOTALS)
        .order_by("day", "model__slug")
    )
    return [_clean({**row, "model": row.pop("model__slug")}) for row in rows]


def usage_per_model(events: QuerySet[UsageEvent]) -> list[dict]:
    rows = (
        events.order_by()
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
        for row in rows
    ]


def usage_per_key(events: QuerySet[UsageEvent]) -> list[dict]:
    rows = (
        events.order_by()
        .values("api_key__prefix", "api_key__name", "api_key__revoked_at")
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
        for row in rows
    ]


def usage_totals(events: QuerySet[UsageEvent]) -> dict:
    return _clean(events.order_by().aggregate(**TOTALS))


@dataclass(frozen=True)
class MonthUsage:
    """A month of one account's usage, for the espace client."""

    month: Month
    period: BillingPeriod | None
    per_model: list[dict]
    per_key: list[dict]
    per_day: list[dict]
    totals: dict


def month_usage(*, account: Account, month: Month) -> MonthUsage:
    events = usage_events(account=account, start=month.first_day, end=month.last_day)
    return MonthUsage(
        month=month,
        period=BillingPeriod.objects.filter(account=account, month=month.first_day).first(),
        per_model=usage_per_model(events),
        per_key=usage_per_key(events),
        per_day=usage_per_day_and_model(events),
        totals=usage_totals(events),
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
