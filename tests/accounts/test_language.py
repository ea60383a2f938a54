"""The customer's language (issue 15): French by default, Arabic (right to left, « د.ج ») or
English from the header's switch, remembered in a cookie and on the account."""

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.urls import reverse

from accounts.models import User

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

COOKIE = settings.LANGUAGE_COOKIE_NAME
DASHBOARD = "/espace-client/"


def text(response) -> str:
    return response.content.decode()


def log_in(client, user):
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def switch(client, language: str, next_url: str = DASHBOARD):
    return client.post(reverse("accounts:language"), {"language": language, "next": next_url})


def test_pages_are_french_by_default_left_to_right(customer_client):
    body = text(customer_client.get(DASHBOARD))

    assert '<html lang="fr">' in body
    assert "<h1>Tableau de bord</h1>" in body
    assert 'data-testid="credits-inclus">500,00\xa0DZD<' in body


def test_the_header_offers_the_three_languages_each_in_its_own_script(client):
    body = text(client.get(reverse("account_login")))

    assert 'value="fr" lang="fr" aria-current="true">Français</button>' in body
    assert 'value="ar" lang="ar" dir="rtl">العربية</button>' in body
    assert 'value="en" lang="en">English</button>' in body
    assert body.count('name="language"') == 3


def test_arabic_pages_are_right_to_left_with_amounts_in_dinars_written_in_arabic(customer_client):
    customer_client.cookies[COOKIE] = "ar"

    body = text(customer_client.get(DASHBOARD))

    assert '<html lang="ar" dir="rtl">' in body
    assert "<h1>لوحة القيادة</h1>" in body
    assert 'data-testid="credits-inclus">500,00\xa0د.ج<' in body
    assert 'data-testid="payg">معطّل<' in body


def test_english_pages_read_dzd_with_english_separators(customer_client, customer):
    customer_client.cookies[COOKIE] = "en"

    body = text(customer_client.get(DASHBOARD))

    assert '<html lang="en">' in body
    assert "<h1>Dashboard</h1>" in body
    assert 'data-testid="credits-inclus">500.00\xa0DZD<' in body
    assert "Change plan" in body


def test_the_switch_saves_the_choice_on_the_account_and_in_the_cookie(customer_client, customer):
    response = switch(customer_client, "ar", next_url="/espace-client/api/")

    assert response.status_code == 302
    assert response["Location"] == "/espace-client/api/"
    assert response.cookies[COOKIE].value == "ar"
    customer.owner.refresh_from_db()
    assert customer.owner.language == "ar"
    assert '<html lang="ar" dir="rtl">' in text(customer_client.get(response["Location"]))


def test_the_saved_language_follows_the_user_to_another_browser(client, customer):
    User.objects.filter(pk=customer.owner.pk).update(language="en")

    response = log_in(client, customer.owner)
    page = client.get(DASHBOARD)

    assert response.status_code == 302
    assert "<h1>Dashboard</h1>" in text(page)
    # The cookie follows the account, so the pages stay in English after logging out.
    assert page.cookies[COOKIE].value == "en"
    client.post(reverse("account_logout"))
    assert "<h1>Log in</h1>" in text(client.get(reverse("account_login")))


def test_a_choice_made_before_logging_in_is_adopted_by_an_account_without_one(client, customer):
    switch(client, "ar", next_url=reverse("account_login"))

    log_in(client, customer.owner)

    customer.owner.refresh_from_db()
    assert customer.owner.language == "ar"


def test_an_account_choice_wins_over_the_browser_cookie(client, customer):
    User.objects.filter(pk=customer.owner.pk).update(language="en")
    client.cookies[COOKIE] = "ar"
    client.force_login(customer.owner)

    assert "<h1>Dashboard</h1>" in text(client.get(DASHBOARD))
    customer.owner.refresh_from_db()
    assert customer.owner.language == "en"


def test_an_unknown_language_changes_nothing(customer_client, customer):
    response = switch(customer_client, "de")

    assert response.status_code == 302
    assert COOKIE not in response.cookies
    customer.owner.refresh_from_db()
    assert customer.owner.language == ""


def test_an_anonymous_visitor_switches_with_the_cookie_alone(client):
    response = switch(client, "en", next_url=reverse("account_login"))

    assert response.cookies[COOKIE].value == "en"
    assert "<h1>Log in</h1>" in text(client.get(reverse("account_login")))


def test_the_browser_language_applies_until_a_choice_is_made(client):
    body = text(client.get(reverse("account_signup"), HTTP_ACCEPT_LANGUAGE="ar,fr;q=0.5"))

    assert '<html lang="ar" dir="rtl">' in body
    assert "<h1>إنشاء حساب</h1>" in body


def test_sign_up_records_the_language_the_page_was_read_in(client):
    client.cookies[COOKIE] = "en"

    client.post(
        reverse("account_signup"),
        {
            "organisation": "Atlas Numérique SARL",
            "email": "amina@atlas.dz",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert User.objects.get(email="amina@atlas.dz").language == "en"


def test_form_labels_and_errors_follow_the_language(customer_client):
    customer_client.cookies[COOKIE] = "en"

    body = text(customer_client.post(reverse("accounts:coordonnees"), {"name": "X", "nif": "12"}))

    assert "Company name" in body
    assert "The NIF has 15 to 20 digits." in body


def test_the_admin_stays_french_whatever_the_language(client):
    client.force_login(UserFactory(email="staff@iafactory.dz", is_staff=True, is_superuser=True))
    client.cookies[COOKIE] = "ar"

    body = text(client.get("/admin/"))

    assert '<html lang="fr"' in body
    assert "Déconnexion" in body


def test_api_errors_follow_accept_language(client):
    response = client.get(
        "/api/v1/account/", HTTP_AUTHORIZATION="Bearer iaf_inconnue", HTTP_ACCEPT_LANGUAGE="en"
    )
    french = client.get("/api/v1/account/", HTTP_AUTHORIZATION="Bearer iaf_inconnue")

    assert response.status_code == 401
    assert response.json()["detail"] == "Unknown API key."
    assert french.json()["detail"] == "Clé API inconnue."
