"""Every espace-client URL: visitors go to the log-in page, other customers get a 404,
and every form refuses a request without its CSRF token."""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey
from billing.models import Subscription

from .factories import PASSWORD, AccountFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ("accounts:dashboard", "get", {}),
    ("accounts:formule", "get", {}),
    ("accounts:formule_apercu", "get", {"formule": "expert"}),
    ("accounts:api", "get", {}),
    ("accounts:coordonnees", "get", {}),
    ("accounts:coordonnees", "post", {"name": "Intrus"}),
    ("accounts:formule", "post", {"formule": "expert"}),
    ("accounts:formule_annuler", "post", {}),
    ("accounts:api_key_create", "post", {"name": "Intrus"}),
    ("accounts:payg", "post", {"enabled": "1"}),
]


@pytest.mark.parametrize(("name", "method", "data"), PAGES)
def test_a_visitor_is_sent_to_the_login_page(client, name, method, data):
    url = reverse(name)

    response = getattr(client, method)(url, data)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('account_login')}?next={quote(url)}")


def test_a_visitor_cannot_revoke_a_key(client):
    key = ApiKeyFactory()

    response = client.post(reverse("accounts:api_key_revoke", args=[key.pk]))

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is None


def test_another_customers_key_is_a_404_and_stays_active(customer_client):
    someone_elses = ApiKeyFactory(account=AccountFactory())

    response = customer_client.post(reverse("accounts:api_key_revoke", args=[someone_elses.pk]))

    assert response.status_code == 404
    someone_elses.refresh_from_db()
    assert someone_elses.revoked_at is None


def test_an_unknown_key_is_a_404(customer_client):
    response = customer_client.post(reverse("accounts:api_key_revoke", args=[999_999]))

    assert response.status_code == 404


def test_pages_only_ever_show_the_users_own_account(client, customer, plans):
    other = AccountFactory(name="Concurrent SARL", subscription__plan=plans.expert)
    other_key = ApiKeyFactory(account=other, name="Clé du concurrent")
    client.force_login(customer.owner)

    for name in ["accounts:dashboard", "accounts:formule", "accounts:api", "accounts:coordonnees"]:
        body = client.get(reverse(name)).content.decode()
        assert "Concurrent SARL" not in body
        assert other_key.prefix not in body


def test_forms_act_on_the_users_own_account_only(client, customer, plans):
    other = AccountFactory(subscription__plan=plans.starter)
    client.force_login(customer.owner)

    client.post(reverse("accounts:formule"), {"formule": "expert"})
    client.post(reverse("accounts:payg"), {"enabled": "1"})
    client.post(reverse("accounts:api_key_create"), {"name": "Ma clé"})
    client.post(reverse("accounts:coordonnees"), {"name": "Renommée"})

    assert Subscription.objects.get(account=other).plan == plans.starter
    assert Subscription.objects.get(account=other).pay_as_you_go is False
    assert not ApiKey.objects.filter(account=other).exists()
    other.refresh_from_db()
    assert other.name != "Renommée"
    assert Subscription.objects.get(account=customer).plan == plans.expert


@pytest.fixture
def csrf_client(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.owner)
    return client


POSTS = [
    ("accounts:formule", {"formule": "expert"}),
    ("accounts:formule_annuler", {}),
    ("accounts:api_key_create", {"name": "Sans jeton"}),
    ("accounts:payg", {"enabled": "1"}),
    ("accounts:coordonnees", {"name": "Sans jeton"}),
]


@pytest.mark.parametrize(("name", "data"), POSTS)
def test_every_espace_form_requires_the_csrf_token(csrf_client, customer, name, data):
    response = csrf_client.post(reverse(name), data)

    assert response.status_code == 403
    subscription = Subscription.objects.get(account=customer)
    assert subscription.plan.slug == "starter"
    assert subscription.pay_as_you_go is False
    assert not ApiKey.objects.filter(account=customer).exists()
    customer.refresh_from_db()
    assert customer.name != "Sans jeton"


def test_revoking_requires_the_csrf_token(csrf_client, customer):
    key = ApiKeyFactory(account=customer)

    response = csrf_client.post(reverse("accounts:api_key_revoke", args=[key.pk]))

    assert response.status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_forms_work_with_the_token_from_the_page(csrf_client, customer):
    csrf_client.get(reverse("accounts:api"))
    token = csrf_client.cookies["csrftoken"].value

    response = csrf_client.post(
        reverse("accounts:payg"), {"enabled": "1", "cap": "500", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert Subscription.objects.get(account=customer).pay_as_you_go is True


def test_htmx_posts_carry_the_token_in_a_header(csrf_client, customer):
    csrf_client.get(reverse("accounts:api"))
    token = csrf_client.cookies["csrftoken"].value

    response = csrf_client.post(
        reverse("accounts:payg"),
        {"enabled": "1", "cap": "500"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200
    assert Subscription.objects.get(account=customer).pay_as_you_go is True


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("account_login", {"login": "x@example.dz", "password": PASSWORD}),
        ("account_signup", {"email": "x@example.dz"}),
        ("account_reset_password", {"email": "x@example.dz"}),
    ],
)
def test_allauth_forms_require_the_csrf_token(name, data):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse(name), data)

    assert response.status_code == 403


def test_logout_requires_the_csrf_token(csrf_client):
    response = csrf_client.post(reverse("account_logout"))

    assert response.status_code == 403
    assert csrf_client.get(reverse("accounts:dashboard")).status_code == 200
