"""Fee and proration arithmetic of the formula changes (DESIGN.md "Changing formula").

A formula's fee and included credits are prorated by the days held in the month (the day of the
change counts for the new formula), rounded half up to the centime, in DZD HT. `FeeLine` is one
formula's share of a month's fee; `UpgradePreview` is what an upgrade made now would do to a
period. Nothing here writes: subscriptions.py applies these figures under its locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from catalog.models import Plan

from ..models import BillingPeriod, PeriodFee
from ..money import ZERO, round_money
from ..periods import Month, local_date


@dataclass(frozen=True)
class FeeLine:
    plan: Plan
    first_day: date
    days: int
    amount: Decimal


@dataclass(frozen=True)
class UpgradePreview:
    """What an upgrade made now would do, to the centime."""

    from_plan: Plan | None
    to_plan: Plan
    on: date
    month: Month
    remaining_days: int
    credits_added: Decimal
    included_after: Decimal
    fee_lines: tuple[FeeLine, ...]  # the month's fee lines after the change
    fee_now: Decimal  # the new formula's prorated fee for the rest of the month

    @property
    def days_in_month(self) -> int:
        return self.month.days

    @property
    def month_fee_total(self) -> Decimal:
        return sum((line.amount for line in self.fee_lines), ZERO)


def plan_credits(plan: Plan | None) -> Decimal:
    return plan.included_credits if plan is not None else ZERO


def is_upgrade(*, current: Plan | None, target: Plan | None) -> bool:
    """More credits than now (or any formula from none) takes effect at once."""
    if target is None or (current is not None and target.pk == current.pk):
        return False
    return target.included_credits > plan_credits(current)


def prorate(amount: Decimal, days: int, month_days: int) -> Decimal:
    return round_money(amount * days / month_days)


def fee_until(*, plan: Plan, first_day: date, day: date, month: Month) -> FeeLine | None:
    """The formula held from `first_day` stops the day before `day` (None: never held)."""
    held = (day - first_day).days
    if held <= 0:
        return None
    return FeeLine(plan, first_day, held, prorate(plan.monthly_fee, held, month.days))


def open_fee(period: BillingPeriod) -> PeriodFee | None:
    return period.fees.select_related("plan").order_by("-first_day").first()


def period_upgrade_preview(
    *, period: BillingPeriod, current: Plan | None, target: Plan, now: datetime
) -> UpgradePreview:
    today = local_date(now)
    month = Month.of(today)
    remaining = month.remaining_days(today)
    credits_added = prorate(target.included_credits - plan_credits(current), remaining, month.days)
    lines = []
    for fee in period.fees.select_related("plan").order_by("first_day"):
        lines.append(FeeLine(fee.plan, fee.first_day, fee.days, fee.amount))
    if lines:
        last = lines.pop()
        shortened = fee_until(plan=last.plan, first_day=last.first_day, day=today, month=month)
        if shortened is not None:
            lines.append(shortened)
    fee_now = prorate(target.monthly_fee, remaining, month.days)
    lines.append(FeeLine(target, today, remaining, fee_now))
    return UpgradePreview(
        from_plan=current,
        to_plan=target,
        on=today,
        month=month,
        remaining_days=remaining,
        credits_added=credits_added,
        included_after=period.included_credits + credits_added,
        fee_lines=tuple(lines),
        fee_now=fee_now,
    )
