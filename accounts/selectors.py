from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.http import Http404

from billing.models import BillingPeriod, PlanChange, Subscription
from billing.periods import Month
from billing.services.periods import current_period
from billing.services.subscriptions import scheduled_change
from catalog.models import Plan

from .keys import hash_secret
from .models import Account, ApiKey

# Why a key may not be used (api_key_lookup's reasons), as told to the caller: the API's 401s
# and the gateway's authorization answers.
KEY_REFUSALS = {
    "unknown_key": "Clé API inconnue.",
    "revoked_key": "Clé API révoquée.",
    "inactive_account": "Compte désactivé par IAFactory.",
}


def api_key_lookup(raw: str) -> tuple[ApiKey | None, str | None]:
    """The key of a raw secret (with its account, owner and subscription) and why it may not
    be used: "unknown_key", "revoked_key", "inactive_account", or None when it may."""
    key = (
        ApiKey.objects.filter(key_hash=hash_secret(raw or ""))
        .select_related("account__owner", "account__subscription__plan")
        .first()
    )
    if key is None:
        return None, "unknown_key"
    if key.revoked_at is not None:
        return key, "revoked_key"
    if not key.account.owner.is_active:
        return key, "inactive_account"
    return key, None


def may_spend(*, period: BillingPeriod, pay_as_you_go: bool) -> bool:
    """The gateway's rule: credits left this month, or pay-as-you-go on."""
    return pay_as_you_go or period.remaining > 0


def account_for_user(user) -> Account:
    """The customer account the logged-in user owns; 404 when there is none."""
    try:
        return Account.objects.select_related("owner").get(owner=user)
    except Account.DoesNotExist:
        raise Http404("Aucun compte client pour cet utilisateur.") from None


@dataclass(frozen=True)
class AccountOverview:
    """What the espace client shows about an account this month."""

    account: Account
    subscription: Subscription
    period: BillingPeriod
    scheduled: PlanChange | None

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
    def can_use_api(self) -> bool:
        return may_spend(period=self.period, pay_as_you_go=self.subscription.pay_as_you_go)


def account_overview(*, account: Account) -> AccountOverview:
    period = current_period(account=account)
    subscription = Subscription.objects.select_related("plan").get(account=account)
    return AccountOverview(
        account=account,
        subscription=subscription,
        period=period,
        scheduled=scheduled_change(account=account),
    )


def plans_offered(*, current: Plan | None = None) -> list[Plan]:
    """The formulas a customer can pick, lowest first, plus the current one if withdrawn."""
    plans = list(Plan.objects.filter(is_active=True).order_by("included_credits", "order"))
    if current is not None and all(plan.pk != current.pk for plan in plans):
        plans.append(current)
        plans.sort(key=lambda plan: (plan.included_credits, plan.order))
    return plans


def api_keys_for_account(*, account: Account):
    """The account's keys, active ones first, newest first."""
    return ApiKey.objects.filter(account=account).order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at"
    )
