"""Billing periods come into being when first needed, with the formula in force on the 1st."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account

from ..models import BillingPeriod, PeriodFee, PlanChange, Subscription
from ..money import ZERO
from ..periods import Month


def subscription_get_or_create(*, account: Account) -> Subscription:
    subscription, _ = Subscription.objects.get_or_create(
        account=account, defaults={"started_at": timezone.now()}
    )
    return subscription


def scheduled_changes_apply(*, subscription: Subscription, at: datetime) -> None:
    """Apply the scheduled downgrade due by `at`. The caller holds the subscription row lock."""
    due = PlanChange.objects.filter(
        account_id=subscription.account_id,
        status=PlanChange.Status.SCHEDULED,
        # Never before its time, even for a period made early: the customer may still cancel.
        effective_at__lte=min(at, timezone.now()),
    ).first()
    if due is None:
        return
    subscription.plan_id = due.to_plan_id
    subscription.save(update_fields=["plan"])
    due.status = PlanChange.Status.APPLIED
    due.save(update_fields=["status"])


def period_get_or_create(*, account: Account, month: Month) -> BillingPeriod:
    """The account's period for `month`, created with the credits of the formula of its 1st."""
    period = BillingPeriod.objects.filter(account=account, month=month.first_day).first()
    if period is not None:
        return period
    try:
        with transaction.atomic():
            subscription_get_or_create(account=account)
            # The lock serialises creation with formula changes on the same account.
            subscription = Subscription.objects.select_for_update(no_key=True).get(account=account)
            period = BillingPeriod.objects.filter(account=account, month=month.first_day).first()
            if period is not None:
                return period
            scheduled_changes_apply(subscription=subscription, at=month.starts_at)
            plan = subscription.plan
            period = BillingPeriod.objects.create(
                account=account,
                month=month.first_day,
                plan=plan,
                included_credits=plan.included_credits if plan else ZERO,
            )
            if plan is not None:
                PeriodFee.objects.create(
                    period=period,
                    plan=plan,
                    first_day=month.first_day,
                    days=month.days,
                    amount=plan.monthly_fee,
                )
            return period
    except IntegrityError:
        # Another transaction created it between our read and our insert.
        return BillingPeriod.objects.get(account=account, month=month.first_day)


def current_period(*, account: Account) -> BillingPeriod:
    return period_get_or_create(account=account, month=Month.current())
