from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_noop

from .keys import hash_secret
from .models import Account, ApiKey

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
    """The customer account the logged-in user owns; 404 when there is none."""
    try:
        return Account.objects.select_related("owner").get(owner=user)
    except Account.DoesNotExist:
        raise Http404("Aucun compte client pour cet utilisateur.") from None


def api_keys_for_account(*, account: Account):
    """The account's keys, active ones first, newest first."""
    return ApiKey.objects.filter(account=account).order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at"
    )
