import functools
from datetime import datetime
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth.hashers import make_password

from accounts.keys import API_KEY_PREFIX, new_secret
from accounts.models import Account, ApiKey, Membership, Role, User
from billing.models import Subscription

CUSTOMER_SINCE = datetime(2026, 1, 1, tzinfo=ZoneInfo("Africa/Algiers"))

PASSWORD = "motdepasse-solide-123"


@functools.cache
def _password_hash() -> str:
    # Hashing is slow on purpose: do it once per test run, not once per user.
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    """A user whose password is PASSWORD."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"client{n}@example.dz")
    password = factory.LazyFunction(_password_hash)
    first_name = "Amina"
    last_name = "Benali"


class AccountFactory(factory.django.DjangoModelFactory):
    """An account with its subscription: `plan` (a Plan or None) and `pay_as_you_go`."""

    class Meta:
        model = Account
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Entreprise {n} SARL")
    owner = factory.SubFactory(UserFactory)
    billing_address = "12 rue Didouche Mourad, Alger"

    @factory.post_generation
    def owner_membership(obj, create, extracted, **kwargs):
        # As account_create does: the owner is the account's first member (issue 16).
        if create:
            Membership.objects.create(account=obj, user=obj.owner, role=Role.OWNER)

    @factory.post_generation
    def subscription(obj, create, extracted, plan=None, pay_as_you_go=False, **kwargs):
        if create:
            Subscription.objects.create(
                account=obj,
                plan=plan,
                pay_as_you_go=pay_as_you_go,
                # A customer since the start of the year unless told otherwise, so that tests
                # may report usage of earlier months (usage before it is refused).
                started_at=kwargs.get("started_at") or CUSTOMER_SINCE,
            )


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """`ApiKeyFactory(account=…)`; the raw secret is on `key.raw` for the test's use."""

    class Meta:
        model = ApiKey

    account = factory.SubFactory(AccountFactory)
    name = "Production"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        secret = new_secret(API_KEY_PREFIX)
        kwargs.setdefault("prefix", secret.prefix)
        kwargs.setdefault("key_hash", secret.hashed)
        key = super()._create(model_class, *args, **kwargs)
        key.raw = secret.raw
        return key


class MembershipFactory(factory.django.DjangoModelFactory):
    """`MembershipFactory(account=…, role=Role.DEVELOPER)`: a new user joins the account."""

    class Meta:
        model = Membership

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.DEVELOPER
