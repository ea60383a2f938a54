"""The account's own state, as its API shows it."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Account

from ..models import BillingPeriod, PlanChange, Subscription
from ..periods import Month
from ..services.periods import current_period


@dataclass(frozen=True)
class AccountState:
    plan: str | None
    pay_as_you_go: bool
    period: BillingPeriod
    scheduled: PlanChange | None

    @property
    def month(self) -> Month:
        return Month.of(self.period.month)


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
    )
