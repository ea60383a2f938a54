"""Two owners demoting each other at once still leave the account an owner (issue 16)."""

import pytest

from accounts.models import Role
from accounts.team import TeamError, membership_set_role
from tests.accounts.factories import AccountFactory, MembershipFactory
from tests.billing.test_subscriptions_concurrency import race
from tests.conftest import postgres_only

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    postgres_only(),
]


def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    account = AccountFactory()
    first = account.memberships.get()
    second = MembershipFactory(account=account, role=Role.OWNER)

    results = race(
        lambda: membership_set_role(membership=first, role=Role.ADMIN, by=second),
        lambda: membership_set_role(membership=second, role=Role.ADMIN, by=first),
    )

    assert sum(isinstance(result, TeamError) for result in results) == 1
    assert account.memberships.filter(role=Role.OWNER).count() == 1
    account.refresh_from_db()
    assert account.memberships.get(role=Role.OWNER).user == account.owner
