"""The permission matrix (issue 16), built from the URL conf: every espace-client view has a
rule, and for every role the view answers 403 exactly when the rule denies it. ADM new view
without a rule (or missing from EXPECTED) fails here."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Role
from accounts.permissions import LOGIN_ONLY, PERMISSIONS
from tests.accounts.factories import AccountFactory, ApiKeyFactory, MembershipFactory

pytestmark = pytest.mark.django_db

OWN, ADM, DEV, BIL = Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.BILLING
ALL = {OWN, ADM, DEV, BIL}

# The matrix of issue 16, by URL name: who may open each espace-client page.
EXPECTED = {
    "accounts:dashboard": ALL,
    "accounts:formule": {OWN, ADM},
    "accounts:formule_apercu": {OWN, ADM},
    "accounts:formule_annuler": {OWN, ADM},
    "accounts:api": {OWN, ADM, DEV},
    "accounts:api_key_create": {OWN, ADM, DEV},
    "accounts:api_key_revoke": {OWN, ADM, DEV},
    "accounts:api_key_update": {OWN, ADM, DEV},
    "accounts:payg": {OWN, ADM},
    "accounts:coordonnees": {OWN, BIL},
    "accounts:team": {OWN, ADM},
    "accounts:team_invite": {OWN, ADM},
    "accounts:team_leave": ALL,
    "accounts:invitation_revoke": {OWN, ADM},
    "accounts:member_role": {OWN, ADM},
    "accounts:member_remove": {OWN, ADM},
    "accounts:ownership_transfer": {OWN},
    "accounts:audit": {OWN, ADM},
    "accounts:switch": LOGIN_ONLY,
    "billing:usage": ALL,
    "billing:usage_export": ALL,
    "billing:alertes": {OWN, ADM, BIL},
    "billing:invoices": {OWN, BIL},
    "billing:invoice_detail": {OWN, BIL},
    "billing:invoice_pdf": {OWN, BIL},
    "billing:credit_note_pdf": {OWN, BIL},
    "billing:invoice_pay": {OWN, BIL},
    "billing:invoice_proof": {OWN, BIL},
    "billing:invoice_checkout_return": {OWN, BIL},
    "billing:recharge_checkout_return": {OWN, BIL},
    "billing:proof_file": {OWN, BIL},
    "billing:recharges": {OWN, BIL},
    "billing:recharge_detail": {OWN, BIL},
    "billing:recharge_pay": {OWN, BIL},
    "billing:recharge_proof": {OWN, BIL},
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
    members = {OWN: account.memberships.get()}
    for role in (ADM, DEV, BIL):
        members[role] = MembershipFactory(account=account, role=role)
    return account, members


@pytest.mark.parametrize("role", [OWN, ADM, DEV, BIL])
@pytest.mark.parametrize(("name", "path", "view"), ESPACE_VIEWS, ids=[v[0] for v in ESPACE_VIEWS])
def test_each_role_is_let_in_or_refused_as_the_matrix_says(client, team, role, name, path, view):
    _account, members = team
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


@pytest.mark.parametrize("role", [OWN, ADM, DEV, BIL])
@pytest.mark.parametrize("url", ["/api/v1/account/", "/api/v1/usage/"])
def test_a_key_acts_with_its_creators_role(client, team, role, url):
    account, members = team
    key = ApiKeyFactory(account=account, created_by=members[role].user)

    response = client.get(url, headers={"authorization": f"Bearer {key.raw}"})

    assert response.status_code == 200  # consommation: every role


def test_a_key_whose_creator_left_the_account_acts_for_no_one(client, team):
    account, members = team
    key = ApiKeyFactory(account=account, created_by=members[DEV].user)
    members[DEV].delete()  # bypassing the service, which would revoke or hand over the key

    response = client.get("/api/v1/account/", headers={"authorization": f"Bearer {key.raw}"})

    assert response.status_code == 403
