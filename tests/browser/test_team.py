"""A team in the browser (issue 16): the owner invites a developer by e-mail, the invitee signs
up through the link and lands in the account, and cannot open the invoices."""

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from accounts.models import Role
from tests.accounts.factories import PASSWORD, AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, email):
    page.goto("/comptes/login/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/espace-client/")


def test_owner_invites_a_developer_who_signs_up_and_cannot_see_invoices(page, mailoutbox):
    account = AccountFactory(name="Atlas Numérique SARL")
    EmailAddress.objects.create(
        user=account.owner, email=account.owner.email, verified=True, primary=True
    )
    log_in(page, account.owner.email)

    page.get_by_role("link", name="Équipe").click()
    page.get_by_label("Adresse e-mail").fill("yacine@atlas.dz")
    page.get_by_label("Rôle").select_option(Role.DEVELOPER)
    page.get_by_role("button", name="Envoyer l'invitation").click()
    expect(page.get_by_text("Invitation envoyée à yacine@atlas.dz")).to_be_visible()
    path = re.search(r"/invitation/\S+/", mailoutbox[-1].body).group(0)
    page.get_by_role("button", name="Se déconnecter").click()

    page.goto(path)
    expect(page.get_by_text("en tant que développeur")).to_be_visible()
    page.get_by_role("link", name="Créer mon compte").click()
    expect(page.get_by_label("Nom de votre organisation")).to_have_count(0)
    expect(page.get_by_label("Adresse e-mail")).to_have_value("yacine@atlas.dz")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe (confirmation)").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()

    page.wait_for_url("**/espace-client/")
    expect(page.get_by_role("link", name="API et pay as you go", exact=True)).to_be_visible()
    expect(page.locator(".espace-nav").get_by_role("link", name="Factures")).to_have_count(0)
    response = page.goto("/espace-client/factures/")
    assert response.status == 403
    assert account.memberships.get(user__email="yacine@atlas.dz").role == Role.DEVELOPER
