"""The permission matrix (issue 16), built from the URL conf: every espace-client view has a
rule, and for every role the view answers 403 exactly when the rule denies it. A new view
without a rule (or missing from EXPECTED) fails here."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Role
from accounts.permissions import LOGIN_ONLY, PERMISSIONS
from tests.accounts.factories import AccountFactory, ApiKeyFactory, MembershipFactory

pytestmark = pytest.mark.django_db

O, A, D, B = Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.BILLING
ALL = {O, A, D, B}

# The matrix of issue 16, by URL name: who may open each espace-client page.
EXPECTED = {
    "accounts:dashboard": ALL,
    "accounts:formule": {O, A},
    "accounts:formule_apercu": {O, A},
    "accounts:formule_annuler": {O, A},
    "accounts:api": {O, A, D},
    "accounts:api_key_create": {O, A, D},
    "accounts:api_key_revoke": {O, A, D},
    "accounts:api_key_update": {O, A, D},
    "accounts:payg": {O, A},
    "accounts:coordonnees": {O, B},
    "accounts:team": {O, A},
    "accounts:team_invite": {O, A},
    "accounts:team_leave": ALL,
    "accounts:invitation_revoke": {O, A},
    "accounts:member_role": {O, A},
    "accounts:member_remove": {O, A},
    "accounts:ownership_transfer": {O},
    "accounts:audit": {O, A},
    "accounts:switch": LOGIN_ONLY,
    "billing:usage": ALL,
    "billing:usage_export": ALL,
    "billing:alertes": {O, A, B},
    "billing:invoices": {O, B},
    "billing:invoice_detail": {O, B},
    "billing:invoice_pdf": {O, B},
    "billing:credit_note_pdf": {O, B},
    "billing:invoice_pay": {O, B},
    "billing:invoice_proof": {O, B},
    "billing:invoice_checkout_return": {O, B},
    "billing:recharge_checkout_return": {O, B},
    "billing:proof_file": {O, B},
    "billing:recharges": {O, B},
    "billing:recharge_detail": {O, B},
    "billing:recharge_pay": {O, B},
    "billing:recharge_proof": {O, B},
}


def _espace_views():
    """(URL name, sample path, view) for every pattern under /espace-client/."""
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace or namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.startswith("espace-client/"):
                    path = "/" + route.replace("<int:key_id>", "999999").replace(
                        "<int:pk>", "999999"
                    ).replace("<str:number>", "FA-0000-000000")
                    found.append((f"{namespace}:{pattern.name}", path, pattern.callback))

    walk(get_resolver().url_patterns, "", None)
    return found


ESPACE_VIEWS = _espace_views()


def test_the_url_conf_has_espace_client_views():
    assert len(ESPACE_VIEWS) >= 30


@pytest.mark.parametrize(("name", "path", "view"), ESPACE_VIEWS, ids=[v[0] for v in ESPACE_VIEWS])
def test_every_espace_view_states_its_rule(name, path, view):
    rule = getattr(view, "permission", None)

    assert rule == LOGIN_ONLY or rule in PERMISSIONS, f"{name} has no permission rule"
    assert name in EXPECTED, f"{name} is missing from the matrix"
    expected = EXPECTED[name]
    if rule == LOGIN_ONLY:
        assert expected == LOGIN_ONLY
    else:
        assert set(PERMISSIONS[rule]) == expected


@pytest.fixture
def team():
    account = AccountFactory()
    members = {O: account.memberships.get()}
    for role in (A, D, B):
        members[role] = MembershipFactory(account=account, role=role)
    return account, members


@pytest.mark.parametrize("role", [O, A, D, B])
@pytest.mark.parametrize(("name", "path", "view"), ESPACE_VIEWS, ids=[v[0] for v in ESPACE_VIEWS])
def test_each_role_is_let_in_or_refused_as_the_matrix_says(client, team, role, name, path, view):
    account, members = team
    client.force_login(members[role].user)

    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path, {})

    expected = EXPECTED[name]
    if expected == LOGIN_ONLY or role in expected:
        assert response.status_code != 403, f"{role} refused on {name}"
    else:
        assert response.status_code == 403, f"{role} let in on {name}"


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for name, path, _view in ESPACE_VIEWS:
        response = client.get(path)
        if response.status_code == 405:
            response = client.post(path, {})
        assert response.status_code == 302, name
        assert "/comptes/login/" in response["Location"], name


@pytest.mark.parametrize("role", [O, A, D, B])
@pytest.mark.parametrize("url", ["/api/v1/account/", "/api/v1/usage/"])
def test_a_key_acts_with_its_creators_role(client, team, role, url):
    account, members = team
    key = ApiKeyFactory(account=account, created_by=members[role].user)

    response = client.get(url, headers={"authorization": f"Bearer {key.raw}"})

    assert response.status_code == 200  # consommation: every role


def test_a_key_whose_creator_left_the_account_acts_for_no_one(client, team):
    account, members = team
    key = ApiKeyFactory(account=account, created_by=members[D].user)
    members[D].delete()  # bypassing the service, which would revoke or hand over the key

    response = client.get("/api/v1/account/", headers={"authorization": f"Bearer {key.raw}"})

    assert response.status_code == 403
