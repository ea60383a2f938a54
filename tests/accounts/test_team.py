"""Members, roles, invitations and removal (issue 16)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.invitations import invitation_accept, invitation_create, invitation_revoke
from accounts.models import ApiKey, AuditEvent, Role
from accounts.selectors import billing_recipients
from accounts.team import (
    TeamError,
    membership_remove,
    membership_set_role,
    ownership_transfer,
)
from tests.accounts.factories import AccountFactory, ApiKeyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return AccountFactory(billing_email="compta@client.dz")


@pytest.fixture
def owner(account):
    return account.memberships.get()


def test_the_last_owner_can_be_neither_demoted_nor_removed(account, owner):
    with pytest.raises(TeamError, match="au moins un propriétaire"):
        membership_set_role(membership=owner, role=Role.ADMIN, by=owner)
    with pytest.raises(TeamError, match="dernier propriétaire"):
        membership_remove(membership=owner, by=owner)

    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_a_titulaire_who_steps_down_hands_the_title_to_another_owner(account, owner):
    second = MembershipFactory(account=account, role=Role.OWNER)

    membership_set_role(membership=owner, role=Role.ADMIN, by=second)

    account.refresh_from_db()
    assert account.owner == second.user


def test_an_admin_manages_members_but_not_owners(account, owner):
    admin = MembershipFactory(account=account, role=Role.ADMIN)
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)

    membership_set_role(membership=dev, role=Role.BILLING, by=admin)
    with pytest.raises(TeamError, match="Seul un propriétaire"):
        membership_set_role(membership=owner, role=Role.ADMIN, by=admin)
    with pytest.raises(TeamError, match="Seul un propriétaire"):
        membership_set_role(membership=dev, role=Role.OWNER, by=admin)

    dev.refresh_from_db()
    assert dev.role == Role.BILLING


def test_removing_a_member_hands_their_keys_to_another_member(account, owner):
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)
    keys = [ApiKeyFactory(account=account, created_by=dev.user) for _ in range(2)]

    moved = membership_remove(membership=dev, by=owner, keys_to=owner)

    assert moved == 2
    assert not account.memberships.filter(pk=dev.pk).exists()
    for key in keys:
        key.refresh_from_db()
        assert key.revoked_at is None
        assert key.created_by == owner.user
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_REMOVED)
    assert event.details == {"clés": 2, "remises à": owner.user.email}


def test_removing_a_member_without_an_heir_revokes_their_keys(account, owner):
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)
    theirs = ApiKeyFactory(account=account, created_by=dev.user)
    mine = ApiKeyFactory(account=account, created_by=owner.user)

    membership_remove(membership=dev, by=owner)

    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=mine.pk).revoked_at is None


def test_keys_cannot_go_to_a_billing_member(account, owner):
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)
    billing = MembershipFactory(account=account, role=Role.BILLING)
    ApiKeyFactory(account=account, created_by=dev.user)

    with pytest.raises(TeamError, match="facturation"):
        membership_remove(membership=dev, by=owner, keys_to=billing)


def test_ownership_transfer_makes_the_member_titulaire_and_the_former_one_admin(account, owner):
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)
    other = AccountFactory(owner=dev.user)  # a user may be titulaire of several accounts

    ownership_transfer(account=account, to=dev, by=owner)

    account.refresh_from_db()
    owner.refresh_from_db()
    dev.refresh_from_db()
    assert account.owner == dev.user
    assert (dev.role, owner.role) == (Role.OWNER, Role.ADMIN)
    assert other.owner == dev.user


def test_an_invitation_is_mailed_and_accepted_once(account, owner):
    _invitation, raw = invitation_create(
        account=account, email="Dev@Client.dz", role=Role.DEVELOPER, by=owner
    )
    invitee = UserFactory(email="dev@client.dz")

    membership = invitation_accept(raw=raw, user=invitee)

    assert membership.role == Role.DEVELOPER
    assert membership.invited_by == owner.user
    with pytest.raises(TeamError, match="déjà été acceptée"):
        invitation_accept(raw=raw, user=UserFactory(email="dev@client.dz".upper() + "x"))


def test_the_invitation_email_carries_the_link(account, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _, raw = invitation_create(
            account=account, email="b@client.dz", role=Role.BILLING, by=owner
        )

    assert mail.outbox[-1].to == ["b@client.dz"]
    assert f"/invitation/{raw}/" in mail.outbox[-1].body
    assert account.name in mail.outbox[-1].subject


def test_an_invitation_expires_after_seven_days(account, owner, freeze):
    freeze("2026-11-01 10:00 +01:00")
    _, raw = invitation_create(account=account, email="d@client.dz", role=Role.DEVELOPER, by=owner)
    invitee = UserFactory(email="d@client.dz")

    freeze("2026-11-08 10:01 +01:00")

    with pytest.raises(TeamError, match="expiré"):
        invitation_accept(raw=raw, user=invitee)


def test_a_revoked_invitation_no_longer_works(account, owner):
    invitation, raw = invitation_create(
        account=account, email="d@client.dz", role=Role.DEVELOPER, by=owner
    )

    invitation_revoke(invitation=invitation, by=owner)

    with pytest.raises(TeamError, match="retirée"):
        invitation_accept(raw=raw, user=UserFactory(email="d@client.dz"))


def test_only_the_invited_address_accepts(account, owner):
    _, raw = invitation_create(account=account, email="d@client.dz", role=Role.DEVELOPER, by=owner)

    with pytest.raises(TeamError, match=r"adressée à d@client\.dz"):
        invitation_accept(raw=raw, user=UserFactory(email="intrus@ailleurs.dz"))


def test_an_admin_cannot_invite_an_owner(account, owner):
    admin = MembershipFactory(account=account, role=Role.ADMIN)

    with pytest.raises(TeamError):
        invitation_create(account=account, email="x@client.dz", role=Role.OWNER, by=admin)


def test_billing_recipients_are_the_titulaire_the_billing_email_and_billing_members(account):
    billing = MembershipFactory(account=account, role=Role.BILLING)
    MembershipFactory(account=account, role=Role.DEVELOPER)
    MembershipFactory(
        account=account, role=Role.BILLING, user=UserFactory(email="COMPTA@client.dz")
    )

    assert billing_recipients(account) == [
        account.owner.email,
        "compta@client.dz",
        billing.user.email,
    ]


def test_an_invitation_is_valid_seven_days(account, owner):
    invitation, _ = invitation_create(
        account=account, email="d@client.dz", role=Role.DEVELOPER, by=owner
    )

    assert invitation.expires_at - timezone.now() <= timedelta(days=7)
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
