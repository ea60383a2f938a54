from django.db import transaction
from django.utils import timezone

from billing.services.periods import subscription_get_or_create

from .keys import API_KEY_PREFIX, new_secret
from .models import Account, ApiKey, User


@transaction.atomic
def account_create(*, owner: User, name: str) -> Account:
    """A new customer account (no formula, pay-as-you-go off) with its subscription row."""
    account = Account.objects.create(owner=owner, name=name)
    subscription_get_or_create(account=account)
    return account


@transaction.atomic
def api_key_create(*, account: Account, name: str) -> tuple[ApiKey, str]:
    """A new key; the raw secret is returned once and never stored."""
    secret = new_secret(API_KEY_PREFIX)
    key = ApiKey.objects.create(
        account=account, name=name.strip(), prefix=secret.prefix, key_hash=secret.hashed
    )
    return key, secret.raw


def api_key_revoke(*, account: Account, key_id: int) -> ApiKey:
    """Revoke one of the account's keys at once (idempotent); DoesNotExist for others' keys."""
    key = ApiKey.objects.get(account=account, pk=key_id)
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        key.refresh_from_db(fields=["revoked_at"])
    return key
