"""Sign-up, e-mail verification, log-in, log-out and password reset with django-allauth."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import Account, User
from billing.models import Subscription

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "un-autre-mot-de-passe-42"


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def signup(client, **overrides):
    data = {
        "organisation": "Atlas Numérique SARL",
        "email": "amina@atlas.dz",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return client.post(reverse("account_signup"), data)


def test_signup_page_is_in_french_and_asks_for_the_organisation(client):
    body = client.get(reverse("account_signup")).content.decode()

    assert "<h1>Créer un compte</h1>" in body
    assert "Nom de votre organisation" in body
    assert 'name="organisation"' in body
    assert body.index('name="organisation"') < body.index('name="email"')


def test_signup_creates_the_user_and_their_customer_account(client, mailoutbox):
    response = signup(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="amina@atlas.dz")
    account = Account.objects.get(owner=user)
    assert account.name == "Atlas Numérique SARL"
    subscription = Subscription.objects.get(account=account)
    assert (subscription.plan, subscription.pay_as_you_go) == (None, False)
    assert EmailAddress.objects.get(user=user).verified is False
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "[IAFactory] Bienvenue : confirmez votre adresse e-mail"
    assert "Pour confirmer votre adresse et activer votre compte" in mailoutbox[0].body


def test_signup_without_organisation_creates_nothing(client):
    response = signup(client, organisation="   ")

    assert response.status_code == 200
    assert "Ce champ est obligatoire." in response.content.decode()
    assert not User.objects.filter(email="amina@atlas.dz").exists()


def test_verification_page_is_in_french(client):
    signup(client)

    body = client.get(reverse("account_email_verification_sent")).content.decode()

    assert "Vérifiez votre adresse e-mail" in body


def test_an_unverified_user_cannot_log_in(client, mailoutbox):
    signup(client)
    client.logout()

    response = client.post(
        reverse("account_login"), {"login": "amina@atlas.dz", "password": PASSWORD}
    )

    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("accounts:dashboard")).status_code == 302


def test_the_link_in_the_email_verifies_and_logs_in(client, mailoutbox):
    signup(client)
    confirm_url = link_in(mailoutbox[0])

    page = client.get(confirm_url)
    response = client.post(confirm_url)

    assert "Confirmer votre adresse e-mail" in page.content.decode()
    assert response["Location"] == "/espace-client/"
    assert EmailAddress.objects.get(email="amina@atlas.dz").verified is True
    dashboard = client.get("/espace-client/")
    assert dashboard.status_code == 200
    assert "Atlas Numérique SARL" in dashboard.content.decode()


def test_a_verified_customer_logs_in_and_out(client):
    user = UserFactory(email="karim@exemple.dz")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    page = client.get(reverse("account_login"))
    response = client.post(
        reverse("account_login"), {"login": "karim@exemple.dz", "password": PASSWORD}
    )

    assert "<h1>Se connecter</h1>" in page.content.decode()
    assert response["Location"] == "/espace-client/"
    assert "Se déconnecter" in client.get(reverse("account_logout")).content.decode()
    response = client.post(reverse("account_logout"))
    assert response["Location"] == "/tarifs/"
    assert client.get("/espace-client/").status_code == 302


def test_failed_logins_are_rate_limited(client):
    user = UserFactory(email="karim@exemple.dz")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    for _ in range(5):
        client.post(reverse("account_login"), {"login": user.email, "password": "faux"})

    # Even the right password is refused until the limit expires.
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert "Trop de tentatives de connexion échouées" in response.content.decode()
    assert client.get("/espace-client/").status_code == 302


def test_password_reset_all_steps(client, mailoutbox):
    user = UserFactory(email="karim@exemple.dz")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    form = client.get(reverse("account_reset_password"))
    response = client.post(reverse("account_reset_password"), {"email": "karim@exemple.dz"})

    assert "<h1>Mot de passe oublié</h1>" in form.content.decode()
    assert response["Location"] == reverse("account_reset_password_done")
    assert "Consultez votre messagerie" in client.get(response["Location"]).content.decode()
    assert mailoutbox[0].subject == "[IAFactory] Réinitialisation de votre mot de passe"
    key_url = client.get(link_in(mailoutbox[0]))["Location"]
    assert "Choisissez un nouveau mot de passe" in client.get(key_url).content.decode()
    done = client.post(key_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done["Location"] == reverse("account_reset_password_from_key_done")
    assert "Mot de passe modifié" in client.get(done["Location"]).content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_used_reset_link_is_refused_in_french(client, mailoutbox):
    user = UserFactory(email="karim@exemple.dz")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.post(reverse("account_reset_password"), {"email": user.email})
    key_url = client.get(link_in(mailoutbox[0]))["Location"]
    client.post(key_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    body = client.get(link_in(mailoutbox[0]), follow=True).content.decode()

    assert "Lien non valable" in body


def test_the_subscription_starts_the_instant_the_account_is_created(client, freeze):
    freeze("2026-11-16 10:00 +01:00")

    signup(client)

    account = Account.objects.get(owner__email="amina@atlas.dz")
    started = Subscription.objects.get(account=account).started_at
    assert started.isoformat() == "2026-11-16T09:00:00+00:00"


def test_the_formula_chosen_on_tarifs_is_pre_selected_after_verification(client, mailoutbox, plans):
    tarifs = client.get("/tarifs/").content.decode()
    href = re.search(
        r'href="([^"]*)"[^>]*>Créer un compte<span[^>]*> avec la formule Expert', tarifs
    )
    signup_url = href.group(1).replace("&amp;", "&")
    assert signup_url.startswith("/comptes/signup/?")

    page = client.get(signup_url).content.decode()
    assert "formule" in page  # the choice travels with the form
    action = re.search(r'<form method="post" action="([^"]*)"', page).group(1)
    data = {
        "organisation": "Atlas Numérique SARL",
        "email": "amina@atlas.dz",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    hidden = dict(re.findall(r'<input type="hidden" name="(next)" value="([^"]*)"', page))
    client.post(action.replace("&amp;", "&") or signup_url, {**data, **hidden})
    confirm_url = link_in(mailoutbox[0])
    response = client.post(confirm_url)

    assert response["Location"] == "/espace-client/formule/?formule=expert"
    landing = client.get(response["Location"])
    assert landing.status_code == 200
    assert landing.context["target"].slug == "expert"
    assert "Choisir la formule Expert" in landing.content.decode()
