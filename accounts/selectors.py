from django.db.models import F, Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_noop

from .current import memberships_of
from .keys import hash_secret
from .models import Account, ApiKey, Membership, Role

# Why a key may not be used (api_key_lookup's reasons), as told to the caller: the API's 401s
# and the gateway's authorization answers. French here (the gateway's answers stay French); the
# customer API translates them with gettext at the time of the answer (Accept-Language).
KEY_REFUSALS = {
    "unknown_key": gettext_noop("Clé API inconnue."),
    "revoked_key": gettext_noop("Clé API révoquée."),
    "expired_key": gettext_noop("Clé API expirée."),
    "inactive_account": gettext_noop("Compte désactivé par IAFactory."),
}


def api_key_lookup(raw: str) -> tuple[ApiKey | None, str | None]:
    """The key of a raw secret (with its account, owner and subscription) and why it may not
    be used: "unknown_key", "revoked_key", "expired_key", "inactive_account", or None when it
    may."""
    key = (
        ApiKey.objects.filter(key_hash=hash_secret(raw or ""))
        .select_related("account__owner", "account__subscription__plan")
        .first()
    )
    if key is None:
        return None, "unknown_key"
    if key.revoked_at is not None:
        return key, "revoked_key"
    if key.expires_at is not None and key.expires_at <= timezone.now():
        return key, "expired_key"
    if not key.account.owner.is_active:
        return key, "inactive_account"
    return key, None


def account_for_user(user) -> Account:
    """The user's first account (their default one; views use the request's current account,
    accounts/current.py); 404 when they belong to none."""
    membership = memberships_of(user).first()
    if membership is None:
        raise Http404("Aucun compte client pour cet utilisateur.")
    return membership.account


def api_keys_for_account(*, account: Account):
    """The account's keys, active ones first, newest first."""
    return (
        ApiKey.objects.filter(account=account)
        .select_related("created_by")
        .order_by(F("revoked_at").asc(nulls_first=True), "-created_at")
    )


def recipients_prefetch(prefix: str = "") -> tuple:
    """select_related / prefetch_related paths that let billing_recipients run without a query
    per account: `queryset.select_related(*a).prefetch_related(*b)` with (a, b) = this."""
    return (f"{prefix}owner",), (
        Prefetch(f"{prefix}memberships", queryset=Membership.objects.select_related("user")),
    )


def billing_recipients(account: Account, *, first: str = "") -> list[str]:
    """Who receives the account's invoices, reminders and alerts (issue 16): `first` (e.g. the
    address printed on an invoice), the titulaire, the account's billing e-mail and every member
    with the facturation role; each address once (case-insensitive), in that order."""
    addresses = [first, account.owner.email, account.billing_email]
    # .all() so that a caller's prefetch (recipients_prefetch) serves many accounts at once.
    addresses += [m.user.email for m in account.memberships.all() if m.role == Role.BILLING]
    seen: set[str] = set()
    recipients = []
    for address in addresses:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            recipients.append(address)
    return recipients
