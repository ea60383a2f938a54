"""Reads of the espace client about the account: its month overview, its keys' spend against
their budgets, the formulas it may pick."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Account, ApiKey
from catalog.models import Plan

from ..metering.authorization import may_spend, payg_cap_remaining
from ..models import BillingPeriod, KeySpend, PlanChange, Subscription
from ..money import ZERO
from ..periods import Month
from ..services.periods import current_period
from ..services.prepaid import prepaid_balance
from ..services.subscriptions import scheduled_change


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
    """Every key of the account (revoked ones too when they charged something in `month`),
    with what it charged then: its KeySpend row, the one authorization locks and enforces the
    budget on (DESIGN.md, spending controls), so the page shows the figure the gateway
    refuses calls by."""
    spent = key_spends(account=account, month=month)
    keys = ApiKey.objects.filter(account=account).order_by("created_at", "pk")
    return [
        KeyBudget(api_key=key, month=month, spent=spent.get(key.pk, ZERO))
        for key in keys
        if key.revoked_at is None or spent.get(key.pk)
    ]


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
