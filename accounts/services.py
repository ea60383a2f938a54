from datetime import datetime
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .keys import API_KEY_PREFIX, new_secret
from .models import Account, ApiKey, AuditEvent, Membership, Role, User
from .signals import account_created


@transaction.atomic
def account_create(*, owner: User, name: str) -> Account:
    """A new customer account. Billing opens its subscription (no formula, pay-as-you-go off)
    on `account_created`, in this transaction: the account is a customer from this instant."""
    account = Account.objects.create(owner=owner, name=name)
    Membership.objects.create(account=account, user=owner, role=Role.OWNER)
    account_created.send(sender=Account, account=account)
    return account


def user_language_set(*, user: User, language: str) -> None:
    """Saves the language of the user's pages, e-mails and invoices: one of settings.LANGUAGES
    codes, or "" for the default (issue 15). Raises ValueError for any other code."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unsupported language: {language!r}")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


@transaction.atomic
def api_key_create(*, account: Account, name: str, by: User | None = None) -> tuple[ApiKey, str]:
    """A new key created by `by` (shown as « créée par »; the key acts with its creator's role,
    accounts/permissions.py); the raw secret is returned once and never stored."""
    secret = new_secret(API_KEY_PREFIX)
    key = ApiKey.objects.create(
        account=account,
        name=name.strip(),
        prefix=secret.prefix,
        key_hash=secret.hashed,
        created_by=by,
    )
    if by is not None:
        audit_record(
            action=AuditEvent.Action.API_KEY_CREATED, actor=by, account=account, target=str(key)
        )
    return key, secret.raw


class ApiKeyError(ValueError):
    """A key change refused, with a message for the customer."""


@transaction.atomic
def api_key_update(
    *,
    key: ApiKey,
    name: str,
    budget: Decimal | None,
    expires_at: datetime | None,
    by: User | None = None,
) -> ApiKey:
    """Rename a key, set or clear its monthly budget (DZD HT) and its expiry; recorded in the
    audit trail with what changed. A budget applies at once to the current month's spend."""
    name = name.strip()
    if not name:
        raise ApiKeyError(_("Le nom de la clé est obligatoire."))
    if budget is not None and budget < Decimal("0.01"):
        raise ApiKeyError(_("Le budget mensuel doit être d'au moins 0,01 DZD."))
    key = ApiKey.objects.select_for_update(no_key=True).get(pk=key.pk)
    before = {"nom": key.name, "budget": key.monthly_budget, "expire_le": key.expires_at}
    key.name = name[: ApiKey._meta.get_field("name").max_length]
    key.monthly_budget = budget
    key.expires_at = expires_at
    key.full_clean(exclude=["account", "prefix", "key_hash", "created_by"])
    key.save(update_fields=["name", "monthly_budget", "expires_at"])
    after = {"nom": key.name, "budget": key.monthly_budget, "expire_le": key.expires_at}
    changes = {
        field: {"avant": before[field], "après": after[field]}
        for field in before
        if before[field] != after[field]
    }
    if changes:
        audit_record(
            action=AuditEvent.Action.API_KEY_UPDATED,
            actor=by,
            account=key.account,
            target=str(key),
            details=changes,
        )
    return key


@transaction.atomic
def api_key_revoke(*, account: Account, key_id: int, by: User | None = None) -> ApiKey:
    """Revoke one of the account's keys at once (idempotent); DoesNotExist for others' keys."""
    key = ApiKey.objects.get(account=account, pk=key_id)
    if key.revoked_at is None:
        revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        key.refresh_from_db(fields=["revoked_at"])
        if revoked and by is not None:
            audit_record(
                action=AuditEvent.Action.API_KEY_REVOKED, actor=by, account=account, target=str(key)
            )
    return key


@transaction.atomic
def customer_ensure(*, email: str, name: str, password: str | None = None) -> Account:
    """A customer whose e-mail is verified, created if missing (operators and demos).

    An existing user keeps their password unless one is given; a new one without a password
    cannot log in until they reset it.
    """
    user = _verified_user_ensure(email=email, password=password)
    account = Account.objects.filter(owner=user).first()
    if account is None:
        account = account_create(owner=user, name=name)
    return account


def demo_member_email(email: str) -> str:
    """The demo's second member (a développeur) of the customer `email`: local+dev@domain."""
    local, _, domain = email.partition("@")
    return f"{local}+dev@{domain}"


@transaction.atomic
def member_ensure(
    *, account: Account, email: str, role: str, password: str | None = None
) -> Membership:
    """A verified user who is a member of `account` with `role` (demos and operators; people
    join by invitation otherwise)."""
    user = _verified_user_ensure(email=email, password=password)
    membership, _ = Membership.objects.update_or_create(
        account=account, user=user, defaults={"role": role}
    )
    return membership


def _verified_user_ensure(*, email: str, password: str | None) -> User:
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
    return user


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
