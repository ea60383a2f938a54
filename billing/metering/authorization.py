"""The gateway's question before a call: may this key spend?"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import ApiKey
from accounts.selectors import KEY_REFUSALS, api_key_lookup

from ..models import BillingPeriod, KeySpend, Subscription
from ..money import ZERO
from ..services.dunning import account_suspension
from ..services.periods import current_period, subscription_get_or_create
from ..services.prepaid import prepaid_balance


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    # unknown_key, revoked_key, expired_key, inactive_account, unpaid_invoice,
    # key_budget_reached, no_credits, no_formula, payg_cap_reached
    reason: str | None
    message: str
    remaining_credits: Decimal | None
    pay_as_you_go: bool | None


AUTHORIZATION_MESSAGES = {
    None: "Appel autorisé.",
    **KEY_REFUSALS,
    "key_budget_reached": "Budget mensuel de cette clé API atteint.",
    "no_credits": "Crédits du mois épuisés et pay as you go désactivé.",
    "no_formula": "Aucune formule et pay as you go désactivé.",
    "payg_cap_reached": "Plafond mensuel de pay as you go atteint.",
    "unpaid_invoice": "Compte suspendu : une facture reste impayée après son échéance.",
}


def payg_cap_remaining(*, period: BillingPeriod, cap: Decimal | None) -> Decimal | None:
    """What the ceiling still allows this period; None when there is no ceiling."""
    return None if cap is None else max(cap - period.overage, ZERO)


def may_spend(
    *,
    period: BillingPeriod,
    pay_as_you_go: bool,
    payg_cap: Decimal | None = None,
    prepaid_balance: Decimal = ZERO,
) -> bool:
    """The gateway's rule: credits left this month, a prepaid balance, or pay-as-you-go on and
    below its ceiling."""
    if period.remaining > 0 or prepaid_balance > 0:
        return True
    if not pay_as_you_go:
        return False
    remaining = payg_cap_remaining(period=period, cap=payg_cap)
    return remaining is None or remaining > 0


def key_budget_reached(*, key: ApiKey, period: BillingPeriod) -> bool:
    if key.monthly_budget is None:
        return False
    charged = (
        KeySpend.objects.filter(api_key=key, month=period.month)
        .values_list("charged", flat=True)
        .first()
    )
    return (charged or ZERO) >= key.monthly_budget


def _authorization(
    reason: str | None, remaining: Decimal | None = None, payg: bool | None = None
) -> Authorization:
    return Authorization(
        allowed=reason is None,
        reason=reason,
        message=AUTHORIZATION_MESSAGES[reason],
        remaining_credits=remaining,
        pay_as_you_go=payg,
    )


def usage_authorize(*, raw_key: str) -> Authorization:
    """Yes when the key is active and below its budget, and its account has a source left:
    credits, a prepaid balance, or pay-as-you-go below its ceiling."""
    key, refusal = api_key_lookup(raw_key)
    if refusal is not None:
        return _authorization(refusal)
    account = key.account
    # h11: suspension for an unpaid invoice (issue 12), before any credit source.
    if account_suspension(account) is not None:
        return _authorization("unpaid_invoice")
    period = current_period(account=account)
    try:
        subscription = account.subscription
    except Subscription.DoesNotExist:
        subscription = subscription_get_or_create(account=account)
    remaining = period.remaining
    payg = subscription.pay_as_you_go
    if key_budget_reached(key=key, period=period):
        return _authorization("key_budget_reached", remaining, payg)
    if may_spend(
        period=period,
        pay_as_you_go=payg,
        payg_cap=subscription.payg_cap,
        prepaid_balance=prepaid_balance(account=account),
    ):
        return _authorization(None, remaining, payg)
    if payg:
        return _authorization("payg_cap_reached", remaining, payg)
    no_formula = subscription.plan_id is None and period.included_credits == 0
    return _authorization("no_formula" if no_formula else "no_credits", remaining, payg)
