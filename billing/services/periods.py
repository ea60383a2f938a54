"""Billing periods come into being when first needed, with the formula of their month's 1st.

One implementation, `periods_ensure`, used by the close (in bulk) and by everything else through
`period_get_or_create`. The formula is read from the formula-change history, never taken from
today's subscription: starting from the current formula, the applied changes that took effect
after the month's first instant are undone, newest first (DESIGN.md "Billing period").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from catalog.models import Plan

from ..models import BillingPeriod, PeriodFee, PlanChange, Subscription
from ..money import ZERO
from ..periods import Month, local_date
from .bulk import bulk_insert
from .proration import prorate


def subscription_get_or_create(*, account: Account) -> Subscription:
    subscription, _ = Subscription.objects.get_or_create(
        account=account, defaults={"started_at": timezone.now()}
    )
    return subscription


@dataclass(frozen=True)
class Change:
    """What the history keeps of an applied formula change, as the reconstruction needs it."""

    from_plan_id: int | None
    to_plan_id: int | None
    effective_at: datetime
    credits_added: Decimal = ZERO


@dataclass(frozen=True)
class Fee:
    plan_id: int
    first_day: date
    days: int
    amount: Decimal


@dataclass
class PeriodTerms:
    """A period's formula on its 1st, its included credits and its fee lines."""

    plan_id: int | None
    included_credits: Decimal
    fees: list[Fee] = field(default_factory=list)


def period_terms(
    *, current_plan_id: int | None, changes: list[Change], month: Month, plans: dict[int, Plan]
) -> PeriodTerms:
    """The terms `month`'s period has (or would have had, made on its 1st) given the account's
    applied changes in the order they were recorded and its formula now.

    Undoing newest first and stopping at the first change in effect by the 1st also handles a
    back-dated change (an operator's reset "as if since"): it overrides what was recorded before.
    Upgrades within the month are replayed as subscription_upgrade made them: their recorded
    credits, and the fee lines split on their day.
    """
    plan_id = current_plan_id
    undone: list[Change] = []
    for change in reversed(changes):
        if change.effective_at <= month.starts_at:
            break
        plan_id = change.from_plan_id
        undone.append(change)
    terms = PeriodTerms(plan_id=plan_id, included_credits=ZERO)
    if plan_id is not None:
        plan = plans[plan_id]
        terms.included_credits = plan.included_credits
        terms.fees.append(Fee(plan_id, month.first_day, month.days, plan.monthly_fee))
    for change in reversed(undone):
        # Downgrades take effect on a 1st: never within the month.
        if change.effective_at >= month.ends_at or change.to_plan_id is None:
            continue
        day = local_date(change.effective_at)
        terms.included_credits += change.credits_added
        if terms.fees:
            last = terms.fees.pop()
            held = (day - last.first_day).days
            if held > 0:
                fee = prorate(plans[last.plan_id].monthly_fee, held, month.days)
                terms.fees.append(Fee(last.plan_id, last.first_day, held, fee))
        remaining = month.remaining_days(day)
        fee = prorate(plans[change.to_plan_id].monthly_fee, remaining, month.days)
        terms.fees.append(Fee(change.to_plan_id, day, remaining, fee))
    return terms


def periods_ensure(
    *, account_ids: list[int], month: Month, plans: dict[int, Plan] | None = None
) -> int:
    """Create the `month` periods these accounts lack, with the terms of `period_terms`, in a
    constant number of queries. Scheduled downgrades already due are applied on the way, never
    one before its time. Returns how many periods were created."""
    missing = _without_period(account_ids, month)
    if not missing:
        return 0
    if plans is None:
        plans = {plan.pk: plan for plan in Plan.objects.all()}
    with transaction.atomic():
        return _periods_create(account_ids=missing, month=month, plans=plans)


def period_get_or_create(*, account: Account, month: Month) -> BillingPeriod:
    """The account's period for `month`, created as periods_ensure makes it."""
    period = BillingPeriod.objects.filter(account=account, month=month.first_day).first()
    if period is not None:
        return period
    periods_ensure(account_ids=[account.pk], month=month)
    return BillingPeriod.objects.get(account=account, month=month.first_day)


def current_period(*, account: Account) -> BillingPeriod:
    return period_get_or_create(account=account, month=Month.current())


def _without_period(account_ids: list[int], month: Month) -> list[int]:
    existing = set(
        BillingPeriod.objects.filter(account_id__in=account_ids, month=month.first_day).values_list(
            "account_id", flat=True
        )
    )
    return [account_id for account_id in account_ids if account_id not in existing]


def _periods_create(*, account_ids: list[int], month: Month, plans: dict[int, Plan]) -> int:
    now = timezone.now()
    # The subscription locks serialise creation with formula changes on the same accounts.
    plan_of = dict(_lock_subscriptions(account_ids))
    if len(plan_of) < len(account_ids):
        Subscription.objects.bulk_create(
            [
                Subscription(account_id=account_id, started_at=now)
                for account_id in account_ids
                if account_id not in plan_of
            ],
            ignore_conflicts=True,
        )
        plan_of = dict(_lock_subscriptions(account_ids))
    # Read again under the locks: another process may have made some meanwhile.
    account_ids = _without_period(account_ids, month)
    if not account_ids:
        return 0

    # Never before its time, even for a period made early: the customer may still cancel.
    due = list(
        PlanChange.objects.filter(
            account_id__in=account_ids,
            status=PlanChange.Status.SCHEDULED,
            effective_at__lte=now,
        ).values_list("pk", "account_id", "to_plan_id")
    )
    if due:
        by_plan: dict[int | None, list[int]] = defaultdict(list)
        for _, account_id, to_plan_id in due:
            by_plan[to_plan_id].append(account_id)
            plan_of[account_id] = to_plan_id
        for plan_id, ids in by_plan.items():
            Subscription.objects.filter(account_id__in=ids).update(plan_id=plan_id)
        PlanChange.objects.filter(pk__in=[pk for pk, _, _ in due]).update(
            status=PlanChange.Status.APPLIED
        )

    history: dict[int, list[Change]] = defaultdict(list)
    for account_id, *change in (
        PlanChange.objects.filter(account_id__in=account_ids, status=PlanChange.Status.APPLIED)
        .order_by("account_id", "pk")
        .values_list("account_id", "from_plan_id", "to_plan_id", "effective_at", "credits_added")
    ):
        history[account_id].append(Change(*change))
    terms = {
        account_id: period_terms(
            current_plan_id=plan_of[account_id],
            changes=history[account_id],
            month=month,
            plans=plans,
        )
        for account_id in account_ids
    }

    bulk_insert(
        BillingPeriod,
        [
            BillingPeriod(
                account_id=account_id,
                month=month.first_day,
                plan_id=terms[account_id].plan_id,
                included_credits=terms[account_id].included_credits,
                created_at=now,
            )
            for account_id in account_ids
        ],
        ignore_conflicts=True,
    )
    created = BillingPeriod.objects.filter(
        account_id__in=account_ids, month=month.first_day
    ).values_list("pk", "account_id")
    # The unique (period, first_day) keeps a fee from being written twice.
    bulk_insert(
        PeriodFee,
        [
            PeriodFee(
                period_id=period_id,
                plan_id=fee.plan_id,
                first_day=fee.first_day,
                days=fee.days,
                amount=fee.amount,
            )
            for period_id, account_id in created
            for fee in terms[account_id].fees
        ],
        ignore_conflicts=True,
    )
    return len(account_ids)


def _lock_subscriptions(account_ids: list[int]) -> list[tuple[int, int | None]]:
    return list(
        Subscription.objects.select_for_update(no_key=True)
        .filter(account_id__in=account_ids)
        .order_by("account_id")
        .values_list("account_id", "plan_id")
    )
