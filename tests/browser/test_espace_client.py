"""A new customer's first steps in a real browser: sign up, verify, choose a formula, create a
key, turn pay-as-you-go on, upgrade, and see the dashboard follow each step."""

import re

import pytest
from allauth.account.models import EmailAddress

from accounts.keys import hash_secret
from accounts.models import ApiKey
from tests.accounts.factories import PASSWORD, AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def verification_link(mailoutbox) -> str:
    return re.search(r"https?://\S+", mailoutbox[-1].body).group(0)


def stat(page, testid: str) -> str:
    return page.get_by_test_id(testid).inner_text().replace("\u202f", " ").replace("\xa0", " ")


def test_new_customer_signs_up_and_sets_up_the_api(page, mailoutbox, freeze):
    freeze("2026-11-16 10:00 +01:00")  # 15 of November's 30 days left

    # Sign up, then open the link of the verification e-mail.
    page.goto("/comptes/signup/")
    page.get_by_label("Nom de votre organisation").fill("Atlas Numérique SARL")
    page.get_by_label("Adresse e-mail").fill("amina@atlas.dz")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe (confirmation)").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.get_by_role("heading", name="Vérifiez votre adresse e-mail").wait_for()
    page.goto(verification_link(mailoutbox))
    page.get_by_role("button", name="Confirmer mon adresse").click()

    page.wait_for_url("**/espace-client/")
    assert "Atlas Numérique SARL" in page.inner_text("main")
    assert stat(page, "formule") == "Aucune formule"
    assert stat(page, "credits-inclus") == "0,00 DZD"

    # Choose Standard: from no formula it starts at once, prorated.
    page.get_by_role("link", name="Formule", exact=True).click()
    page.get_by_role("button", name="Passer à Standard").click()
    assert stat(page, "credits-ajoutes") == "+500,00 DZD"
    page.get_by_role("button", name="Confirmer le passage à Standard").click()
    page.get_by_text("Formule Standard activée : 500,00 DZD de crédits ajoutés").wait_for()

    page.get_by_role("link", name="Tableau de bord").click()
    assert stat(page, "formule") == "Standard"
    assert stat(page, "credits-inclus") == "500,00 DZD"
    assert stat(page, "credits-restants") == "500,00 DZD"

    # Create a key: shown once, stored as a hash.
    page.get_by_role("link", name="API et pay as you go", exact=True).click()
    page.get_by_label("Nom de la clé").fill("Production")
    page.get_by_role("button", name="Créer une clé").click()
    raw = page.get_by_test_id("nouvelle-cle").input_value()
    assert raw.startswith("iaf_")
    key = ApiKey.objects.get(key_hash=hash_secret(raw))
    assert key.name == "Production"
    assert key.is_active
    assert page.get_by_role("button", name="Copier").is_visible()

    # Pay-as-you-go on.
    page.get_by_role("button", name="Activer le pay as you go").click()
    page.get_by_text("Pay as you go activé : au-delà de vos crédits").wait_for()
    assert stat(page, "payg-etat") == "Activé"

    # Upgrade to Expert: the preview gives the exact amounts first.
    page.get_by_role("link", name="Formule", exact=True).click()
    page.get_by_role("button", name="Passer à Expert").click()
    assert stat(page, "credits-ajoutes") == "+750,00 DZD"  # (2500 − 1000) × 15 / 30
    assert stat(page, "frais-prorata") == "1 250,00 DZD HT"  # 2500 × 15 / 30
    page.get_by_role("button", name="Confirmer le passage à Expert").click()
    page.get_by_text("Formule Expert active dès maintenant").wait_for()

    page.get_by_role("link", name="Tableau de bord").click()
    assert stat(page, "formule") == "Expert"
    assert stat(page, "credits-inclus") == "1 250,00 DZD"
    assert stat(page, "payg") == "Activé"
    assert "1 clé API active" in page.inner_text("main")


def test_formula_change_works_without_javascript(browser, live_server, freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory(owner__email="karim@exemple.dz")
    EmailAddress.objects.create(user=account.owner, email=account.owner.email, verified=True)
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto("/comptes/login/")
    page.get_by_label("Adresse e-mail").fill("karim@exemple.dz")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/espace-client/formule/")
    page.get_by_role("button", name="Passer à Starter").click()
    page.wait_for_url("**/espace-client/formule/apercu/?formule=starter")
    page.get_by_role("button", name="Confirmer le passage à Starter").click()

    page.wait_for_url("**/espace-client/formule/")
    assert "Formule Starter activée : 250,00" in page.inner_text("main")
    context.close()
