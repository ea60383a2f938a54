"""The account's own state, as its API shows it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Account

from ..models import BillingPeriod, PlanChange, Subscription
from ..periods import Month
from ..services.periods import current_period
from ..services.prepaid import prepaid_balance
from .authorization import payg_cap_remaining


@dataclass(frozen=True)
class AccountState:
    plan: str | None
    pay_as_you_go: bool
    period: BillingPeriod
    scheduled: PlanChange | None
    payg_cap: Decimal | None = None
    prepaid_balance: Decimal = Decimal(0)

    @property
    def month(self) -> Month:
        return Month.of(self.period.month)

    @property
    def payg_cap_remaining(self) -> Decimal | None:
        return payg_cap_remaining(period=self.period, cap=self.payg_cap)


def account_state(*, account: Account) -> AccountState:
    period = current_period(account=account)
    subscription = Subscription.objects.select_related("plan").get(account=account)
    scheduled = (
        PlanChange.objects.filter(account=account, status=PlanChange.Status.SCHEDULED)
        .select_related("to_plan")
        .first()
    )
    return AccountState(
        plan=subscription.plan.slug if subscription.plan else None,
        pay_as_you_go=subscription.pay_as_you_go,
        period=period,
        scheduled=scheduled,
        payg_cap=subscription.payg_cap,
        prepaid_balance=prepaid_balance(account=account),
    )
