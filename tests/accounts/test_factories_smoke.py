import pytest

from accounts.keys import hash_secret
from catalog.models import Plan

from .factories import AccountFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_factories_build_an_account_with_subscription_and_a_working_key():
    starter = Plan.objects.get(slug="starter")

    key = ApiKeyFactory(account=AccountFactory(subscription__plan=starter))

    assert key.account.subscription.plan == starter
    assert key.raw.startswith("iaf_")
    assert key.key_hash == hash_secret(key.raw)
    assert key.raw.startswith(key.prefix)
