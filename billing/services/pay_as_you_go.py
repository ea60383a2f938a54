"""The pay-as-you-go switch and its monthly ceiling (DESIGN.md "Credits, prepaid balance and
pay-as-you-go"; issue 11). Locks like the formula changes: subscription, then current period."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Account, AuditEvent, User

from ..models import PayAsYouGoChange, Subscription
from ..money import round_money
from .subscriptions import SubscriptionError, subscription_lock


class Keep:
    """The ceiling argument's default: leave the ceiling as it is."""


KEEP = Keep()


def payg_default_cap(*, account: Account) -> Decimal | None:
    """The ceiling proposed when turning pay-as-you-go on: the formula's monthly fee (none
    without a formula: the customer types one, or chooses « sans plafond »)."""
    subscription = Subscription.objects.select_related("plan").filter(account=account).first()
    if subscription is not None and subscription.payg_cap is not None:
        return subscription.payg_cap
    plan = subscription.plan if subscription is not None else None
    return plan.monthly_fee if plan is not None else None


def _cap_checked(cap: Decimal | None) -> Decimal | None:
    if cap is None:
        return None
    if not cap.is_finite() or cap < 0:
        raise SubscriptionError(_("Le plafond doit être un montant positif ou nul."))
    if cap != round_money(cap):
        raise SubscriptionError(_("Le plafond s'exprime au centime près (deux décimales au plus)."))
    if cap >= Decimal(10) ** 12:
        raise SubscriptionError(_("Plafond trop élevé."))
    return cap


@transaction.atomic
def payg_set(
    *,
    account: Account,
    enabled: bool,
    cap: Decimal | Keep | None = KEEP,
    by: User | None = None,
) -> Subscription:
    """Turn pay-as-you-go on or off and set its monthly ceiling (DZD HT; None: no ceiling, an
    explicit choice; KEEP: unchanged), at once. Every call is recorded with its time and
    author in the history the ledger reads (the state after the change, ceiling included).

    Takes the current period's lock like the ledger: a batch charged meanwhile sees the change
    either entirely before or entirely after it, and a raised ceiling reopens the API at once.
    """
    subscription, _period = subscription_lock(account=account)
    new_cap = subscription.payg_cap if isinstance(cap, Keep) else _cap_checked(cap)
    old_cap = subscription.payg_cap
    switched = subscription.pay_as_you_go != enabled
    now = timezone.now()
    subscription.pay_as_you_go = enabled
    subscription.payg_cap = new_cap
    subscription.pay_as_you_go_changed_at = now
    subscription.save(update_fields=["pay_as_you_go", "payg_cap", "pay_as_you_go_changed_at"])
    PayAsYouGoChange.objects.create(
        account=account, enabled=enabled, cap=new_cap, changed_at=now, changed_by=by
    )
    if switched or new_cap == old_cap:
        audit_record(
            action=AuditEvent.Action.PAYG_ON if enabled else AuditEvent.Action.PAYG_OFF,
            actor=by,
            account=account,
            target=str(account),
            details={"plafond": new_cap},
        )
    if new_cap != old_cap:
        audit_record(
            action=AuditEvent.Action.PAYG_CAP_CHANGED,
            actor=by,
            account=account,
            target=str(account),
            details={"plafond": {"avant": old_cap, "après": new_cap}},
        )
    return subscription
