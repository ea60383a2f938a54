"""The « Équipe » pages, the switcher and the invitation link, through the test client."""

import pytest
from django.core import mail

from accounts.current import SESSION_KEY
from accounts.invitations import invitation_create
from accounts.models import ApiKey, AuditEvent, Role
from tests.accounts.factories import AccountFactory, ApiKeyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return AccountFactory(name="Atlas SARL")


@pytest.fixture
def owner(account):
    return account.memberships.get()


def test_the_team_page_lists_members_and_roles(client, account, owner):
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)
    client.force_login(owner.user)

    page = client.get("/espace-client/equipe/").content.decode()

    assert owner.user.email in page
    assert dev.user.email in page
    assert "développeur" in page


def test_an_owner_invites_from_the_team_page(
    client, account, owner, django_capture_on_commit_callbacks
):
    client.force_login(owner.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/espace-client/equipe/inviter/", {"email": "b@atlas.dz", "role": Role.BILLING}
        )

    assert response.status_code == 302
    assert mail.outbox[-1].to == ["b@atlas.dz"]
    assert account.invitations.get().role == Role.BILLING


def test_an_admin_cannot_invite_an_owner_from_the_page(client, account):
    admin = MembershipFactory(account=account, role=Role.ADMIN)
    client.force_login(admin.user)

    response = client.post("/espace-client/equipe/inviter/", {"email": "x@a.dz", "role": "owner"})

    assert response.status_code == 400
    assert not account.invitations.exists()


def test_an_existing_user_accepts_in_one_click(client, account, owner):
    _, raw = invitation_create(account=account, email="k@atlas.dz", role=Role.ADMIN, by=owner)
    invitee = UserFactory(email="k@atlas.dz")
    client.force_login(invitee)

    assert "Accepter l'invitation" in client.get(f"/invitation/{raw}/").content.decode()
    response = client.post(f"/invitation/{raw}/")

    assert response.status_code == 302
    assert account.memberships.get(user=invitee).role == Role.ADMIN
    assert client.session[SESSION_KEY] == account.pk
    assert client.get(f"/invitation/{raw}/").status_code == 410  # one use


def test_removal_asks_about_keys_then_hands_them_over(client, account, owner):
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)
    key = ApiKeyFactory(account=account, created_by=dev.user)
    client.force_login(owner.user)
    url = f"/espace-client/equipe/membres/{dev.pk}/retirer/"

    assert key.prefix in client.get(url).content.decode()
    response = client.post(url, {"keys_to": owner.pk})

    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.revoked_at, key.created_by) == (None, owner.user)


def test_a_developer_revokes_only_its_own_keys(client, account, owner):
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)
    mine = ApiKeyFactory(account=account, created_by=dev.user)
    theirs = ApiKeyFactory(account=account, created_by=owner.user)
    client.force_login(dev.user)

    refused = client.post(f"/espace-client/api/cles/{theirs.pk}/revoquer/")
    done = client.post(f"/espace-client/api/cles/{mine.pk}/revoquer/")

    assert refused.status_code == 403
    assert done.status_code == 302
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
    assert ApiKey.objects.get(pk=mine.pk).revoked_at is not None
    assert AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_REVOKED).actor == dev.user


def test_keys_page_shows_who_created_each_key(client, account, owner):
    ApiKeyFactory(account=account, created_by=owner.user)
    client.force_login(owner.user)

    page = client.get("/espace-client/api/").content.decode()

    assert "Créée par" in page
    assert owner.user.email in page


def test_the_switcher_changes_the_current_account(client, account, owner):
    other = AccountFactory(name="Zénith SPA")
    MembershipFactory(account=other, user=owner.user, role=Role.BILLING)
    client.force_login(owner.user)
    assert "Zénith SPA" in client.get("/espace-client/").content.decode()  # the header lists it

    client.post("/espace-client/compte/", {"account": other.pk, "next": "/espace-client/"})

    assert client.session[SESSION_KEY] == other.pk
    assert client.get("/espace-client/factures/").status_code == 200  # billing there
    assert client.get("/espace-client/api/").status_code == 403  # no keys for billing


def test_one_cannot_switch_to_someone_elses_account(client, account, owner):
    stranger = AccountFactory()
    client.force_login(owner.user)

    client.post("/espace-client/compte/", {"account": stranger.pk})

    assert client.session.get(SESSION_KEY) != stranger.pk


def test_the_audit_page_shows_who_did_what(client, account, owner):
    client.force_login(owner.user)
    client.post("/espace-client/api/cles/", {"name": "Prod"})

    page = client.get("/espace-client/journal/").content.decode()

    assert "Clé API créée" in page
    assert owner.user.email in page
