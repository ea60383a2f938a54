"""Formula changes (DESIGN.md "Changing formula"): upgrade, scheduled downgrade and its
cancellation, the customer's change and the operators' reset. The fee and proration arithmetic
and the upgrade preview's figures are in proration.py; pay-as-you-go is in pay_as_you_go.py.

Every service locks the account's Subscription row, then its current BillingPeriod, in that
order, so that two requests on one account (or a request and the metering of an event)
never interleave.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Account, AuditEvent, User
from catalog.models import Plan

from ..models import BillingPeriod, PayAsYouGoChange, PeriodFee, PlanChange, Subscription
from ..periods import BILLING_TZ, Month, local_date
from .periods import period_get_or_create, subscription_get_or_create
from .proration import (
    UpgradePreview,
    fee_until,
    is_upgrade,
    open_fee,
    period_upgrade_preview,
    plan_credits,
    prorate,
)


class SubscriptionError(Exception):
    """A formula change that the rules do not allow; the message is shown to the customer."""


def scheduled_change(*, account: Account) -> PlanChange | None:
    return (
        PlanChange.objects.filter(account=account, status=PlanChange.Status.SCHEDULED)
        .select_related("from_plan", "to_plan")
        .first()
    )


def subscription_lock(
    *, account: Account, month: Month | None = None
) -> tuple[Subscription, BillingPeriod]:
    """Lock the subscription, then the period of `month` (default: the current one), created if
    needed with due changes applied."""
    subscription_get_or_create(account=account)
    Subscription.objects.select_for_update(no_key=True).get(account=account)
    period = period_get_or_create(account=account, month=month or Month.current())
    # Re-read: creating the period may just have applied a scheduled downgrade.
    subscription = Subscription.objects.select_related("plan").get(account=account)
    period = BillingPeriod.objects.select_for_update(no_key=True).get(pk=period.pk)
    return subscription, period


def upgrade_preview(*, account: Account, plan: Plan) -> UpgradePreview:
    """The exact credits and fee lines an upgrade to `plan` would give now; changes nothing."""
    period = period_get_or_create(account=account, month=Month.current())
    subscription = Subscription.objects.select_related("plan").get(account=account)
    if not is_upgrade(current=subscription.plan, target=plan):
        raise SubscriptionError(
            _("La formule %(plan)s n'est pas supérieure à votre formule actuelle.")
            % {"plan": plan.name}
        )
    return period_upgrade_preview(
        period=period, current=subscription.plan, target=plan, now=timezone.now()
    )


def _cancel_scheduled(*, account: Account) -> PlanChange | None:
    change = PlanChange.objects.filter(account=account, status=PlanChange.Status.SCHEDULED).first()
    if change is not None:
        change.status = PlanChange.Status.CANCELLED
        change.save(update_fields=["status"])
    return change


@transaction.atomic
def subscription_upgrade(*, account: Account, plan: Plan, by: User | None = None) -> PlanChange:
    """Switch to a formula with more credits at once: prorated credits now, prorated fee lines.

    A downgrade scheduled before is cancelled: the customer's latest choice wins.
    """
    # One reading of the clock for the period and the day, even across midnight.
    now = timezone.now()
    subscription, period = subscription_lock(account=account, month=Month.of(now))
    current = subscription.plan
    if not is_upgrade(current=current, target=plan):
        raise SubscriptionError(
            _("La formule %(plan)s n'est pas supérieure à votre formule actuelle.")
            % {"plan": plan.name}
        )
    preview = period_upgrade_preview(period=period, current=current, target=plan, now=now)

    last_fee = open_fee(period)
    if last_fee is not None:
        shortened = fee_until(
            plan=last_fee.plan, first_day=last_fee.first_day, day=preview.on, month=preview.month
        )
        if shortened is not None:
            last_fee.days, last_fee.amount = shortened.days, shortened.amount
            last_fee.save(update_fields=["days", "amount"])
        else:
            last_fee.delete()
    PeriodFee.objects.create(
        period=period,
        plan=plan,
        first_day=preview.on,
        days=preview.remaining_days,
        amount=preview.fee_now,
    )
    period.included_credits += preview.credits_added
    period.save(update_fields=["included_credits"])

    subscription.plan = plan
    subscription.save(update_fields=["plan"])
    _cancel_scheduled(account=account)
    change = PlanChange.objects.create(
        account=account,
        from_plan=current,
        to_plan=plan,
        kind=PlanChange.Kind.START if current is None else PlanChange.Kind.UPGRADE,
        status=PlanChange.Status.APPLIED,
        requested_at=now,
        effective_at=now,
        credits_added=preview.credits_added,
        requested_by=by,
    )
    _audit_change(AuditEvent.Action.SUBSCRIPTION_UPGRADED, change, by)
    return change


def _audit_change(action: AuditEvent.Action, change: PlanChange, by: User | None) -> None:
    audit_record(
        action=action,
        actor=by,
        account=change.account,
        target=str(change.account),
        details={
            "de": change.from_plan.slug if change.from_plan else None,
            "vers": change.to_plan.slug if change.to_plan else None,
            "effectif_le": change.effective_at,
            "credits_ajoutes": change.credits_added,
        },
    )


@transaction.atomic
def subscription_schedule_downgrade(
    *, account: Account, plan: Plan | None, by: User | None = None
) -> PlanChange:
    """Schedule a move to fewer (or equal) credits, or to no formula, on the 1st of next month.

    At most one change is scheduled: a new one replaces the previous.
    """
    subscription, _period = subscription_lock(account=account)
    current = subscription.plan
    if current is None and plan is None:
        raise SubscriptionError(_("Vous n'avez déjà aucune formule."))
    if current is not None and plan is not None and plan.pk == current.pk:
        raise SubscriptionError(_("La formule %(plan)s est déjà la vôtre.") % {"plan": plan.name})
    if is_upgrade(current=current, target=plan):
        raise SubscriptionError(
            _("La formule %(plan)s est supérieure à la vôtre : elle s'applique immédiatement.")
            % {"plan": plan.name}
        )
    now = timezone.now()
    _cancel_scheduled(account=account)
    change = PlanChange.objects.create(
        account=account,
        from_plan=current,
        to_plan=plan,
        kind=PlanChange.Kind.DOWNGRADE,
        status=PlanChange.Status.SCHEDULED,
        requested_at=now,
        effective_at=Month.of(now).next().starts_at,
        requested_by=by,
    )
    _audit_change(AuditEvent.Action.SUBSCRIPTION_DOWNGRADE_SCHEDULED, change, by)
    return change


@transaction.atomic
def subscription_cancel_scheduled(*, account: Account, by: User | None = None) -> PlanChange | None:
    """Cancel the scheduled downgrade if any; returns it, or None when there was none."""
    subscription_lock(account=account)
    cancelled = _cancel_scheduled(account=account)
    if cancelled is not None:
        _audit_change(AuditEvent.Action.SUBSCRIPTION_CHANGE_CANCELLED, cancelled, by)
    return cancelled


@transaction.atomic
def subscription_change(
    *, account: Account, plan: Plan | None, by: User | None = None
) -> PlanChange:
    """The customer picked `plan` (None: no formula): upgrade now or schedule the downgrade.

    Picking the current formula again while a downgrade is scheduled cancels that downgrade.
    """
    subscription, _period = subscription_lock(account=account)
    current = subscription.plan
    same = (plan is None and current is None) or (
        plan is not None and current is not None and plan.pk == current.pk
    )
    if same:
        cancelled = _cancel_scheduled(account=account)
        if cancelled is None:
            if plan is None:
                raise SubscriptionError(_("Vous n'avez déjà aucune formule."))
            raise SubscriptionError(
                _("La formule %(plan)s est déjà la vôtre.") % {"plan": plan.name}
            )
        _audit_change(AuditEvent.Action.SUBSCRIPTION_CHANGE_CANCELLED, cancelled, by)
        return cancelled
    if is_upgrade(current=current, target=plan):
        return subscription_upgrade(account=account, plan=plan, by=by)
    return subscription_schedule_downgrade(account=account, plan=plan, by=by)


@transaction.atomic
def subscription_reset(
    *,
    account: Account,
    plan: Plan | None,
    pay_as_you_go: bool,
    since: date,
    by: User | None = None,
) -> Subscription:
    """Put an account in a state as if it had held it since `since` (operators and demos).

    The formula and pay-as-you-go switch are set as of that day: the pay-as-you-go history from
    that day on is rewritten, a scheduled change is cancelled, and the current period gets the
    credits and fee of the formula, prorated when `since` falls within this month. Earlier
    periods are left alone.
    """
    now = timezone.now()
    month = Month.of(now)
    if since > local_date(now):
        raise SubscriptionError(_("La date de début ne peut pas être dans le futur."))
    since_at = datetime.combine(since, datetime.min.time(), tzinfo=BILLING_TZ)

    subscription_get_or_create(account=account)
    subscription = Subscription.objects.select_for_update(no_key=True).get(account=account)
    _cancel_scheduled(account=account)
    previous = subscription.plan
    subscription.plan = plan
    subscription.started_at = since_at
    subscription.pay_as_you_go = pay_as_you_go
    subscription.pay_as_you_go_changed_at = since_at
    subscription.save()
    PayAsYouGoChange.objects.filter(account=account, changed_at__gte=since_at).delete()
    PayAsYouGoChange.objects.create(
        account=account,
        enabled=pay_as_you_go,
        cap=subscription.payg_cap,
        changed_at=since_at,
        changed_by=by,
    )

    period = period_get_or_create(account=account, month=month)
    period = BillingPeriod.objects.select_for_update(no_key=True).get(pk=period.pk)
    first_day = max(since, month.first_day)
    days = month.remaining_days(first_day)
    credits = prorate(plan_credits(plan), days, month.days)
    period.fees.all().delete()
    if plan is not None:
        PeriodFee.objects.create(
            period=period,
            plan=plan,
            first_day=first_day,
            days=days,
            amount=prorate(plan.monthly_fee, days, month.days),
        )
        # from_plan is what the account held before: periods made later for earlier months
        # undo this change back to it (services/periods.py).
        PlanChange.objects.create(
            account=account,
            from_plan=previous,
            to_plan=plan,
            kind=PlanChange.Kind.START,
            status=PlanChange.Status.APPLIED,
            requested_at=since_at,
            effective_at=since_at,
            credits_added=credits,
            requested_by=by,
        )
    period.plan = plan if first_day == month.first_day else None
    # Credits never drop below what the period already consumed (a database constraint).
    period.included_credits = max(credits, period.consumed)
    period.save(update_fields=["plan", "included_credits"])
    audit_record(
        action=AuditEvent.Action.SUBSCRIPTION_RESET,
        actor=by,
        account=account,
        target=str(account),
        details={
            "formule": plan.slug if plan else None,
            "pay_as_you_go": pay_as_you_go,
            "depuis": since,
        },
    )
    return subscription
