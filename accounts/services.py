from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from .keys import API_KEY_PREFIX, new_secret
from .models import Account, ApiKey, User
from .signals import account_created


@transaction.atomic
def account_create(*, owner: User, name: str) -> Account:
    """A new customer account. Billing opens its subscription (no formula, pay-as-you-go off)
    on `account_created`, in this transaction: the account is a customer from this instant."""
    account = Account.objects.create(owner=owner, name=name)
    account_created.send(sender=Account, account=account)
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


@transaction.atomic
def customer_ensure(*, email: str, name: str, password: str | None = None) -> Account:
    """A customer whose e-mail is verified, created if missing (operators and demos).

    An existing user keeps their password unless one is given; a new one without a password
    cannot log in until they reset it.
    """
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password)
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(primary=False)
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    if not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])
    account = Account.objects.filter(owner=user).first()
    if account is None:
        account = account_create(owner=user, name=name)
    return account


@transaction.atomic
def account_billing_update(
    *,
    account: Account,
    name: str,
    billing_address: str,
    nif: str,
    nis: str,
    rc: str,
    article: str = "",
) -> Account:
    """The customer's own billing details; invoices already issued keep the ones they had."""
    account.name = name.strip()
    account.billing_address = billing_address.strip()
    account.nif = nif.strip()
    account.nis = nis.strip()
    account.rc = rc.strip()
    account.article = article.strip()
    account.full_clean(exclude=["owner", "tva_exempt"])
    account.save(update_fields=["name", "billing_address", "nif", "nis", "rc", "article"])
    return account
