"""The gateway's question before a call: may this key spend?"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.selectors import KEY_REFUSALS, api_key_lookup

from ..models import BillingPeriod, Subscription
from ..services.dunning import account_suspension
from ..services.periods import current_period, subscription_get_or_create


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    reason: str | None  # unknown_key, revoked_key, no_credits, no_formula, unpaid_invoice
    message: str
    remaining_credits: Decimal | None
    pay_as_you_go: bool | None


AUTHORIZATION_MESSAGES = {
    None: "Appel autorisé.",
    **KEY_REFUSALS,
    "no_credits": "Crédits du mois épuisés et pay as you go désactivé.",
    "no_formula": "Aucune formule et pay as you go désactivé.",
    "unpaid_invoice": "Compte suspendu : une facture reste impayée après son échéance.",
}


def may_spend(*, period: BillingPeriod, pay_as_you_go: bool) -> bool:
    """The gateway's rule: credits left this month, or pay-as-you-go on."""
    return pay_as_you_go or period.remaining > 0


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
    """Yes when the key is active and its account has credits left or pay-as-you-go on."""
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
    if may_spend(period=period, pay_as_you_go=payg):
        return _authorization(None, remaining, payg)
    no_formula = subscription.plan_id is None and period.included_credits == 0
    return _authorization("no_formula" if no_formula else "no_credits", remaining, payg)
