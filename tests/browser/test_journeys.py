"""The portal as its users meet it, end to end in headless Chromium.

Visitor: the price list, the calculator, the FAQ and the API documentation.
Customer: sign-up to a downloaded invoice, with a real usage event through the gateway API.
Staff: schedule a price change in the admin and see it announced on /tarifs/.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.gateway import gateway_token_create
from accounts.models import User
from billing.models import Invoice
from tests.accounts.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def text(locator) -> str:
    return locator.inner_text().replace("\u202f", " ").replace("\xa0", " ")


def test_visitor_reads_prices_uses_the_calculator_and_finds_the_api_docs(page):
    page.goto("/")

    page.wait_for_url("**/tarifs/")
    main = text(page.locator("main"))
    for figure in ("Starter", "Standard", "Expert", "1 000", "2 500", "claude-sonnet-4.5", "3 750"):
        assert figure in main
    for slug in ("gpt-4.1", "deepseek-v3", "flux-schnell", "stable-diffusion-3.5"):
        assert slug in main
    assert "Comprendre la facturation" in main
    assert "1,625" in main  # the worked example, computed from gpt-4.1's prices

    page.select_option("#calc-model", "claude-sonnet-4.5")
    page.fill("#calc-input_tokens", "1000000")
    page.fill("#calc-output_tokens", "2000")
    expect(page.get_by_test_id("cout")).to_have_text("757,5")  # 750 + 2 000 × 3 750 / 1e6

    assert "19 %" in text(page.locator("main"))  # the first FAQ answer, open by default
    page.get_by_text("Que se passe-t-il si je dépasse mes crédits mensuels ?").click()
    expect(page.get_by_text("Les crédits non utilisés ne sont pas reportés")).to_be_visible()

    page.get_by_text("Où trouver plus de détails techniques sur les modèles ?").click()
    page.locator("#faq").get_by_role("link", name="Documentation API → Models & Pricing").click()
    page.wait_for_url("**/documentation-api/")
    docs = text(page.locator("main"))
    assert "/api/v1/gateway/usage/" in docs
    assert "stable-diffusion-3.5" in docs


def test_customer_from_sign_up_to_a_downloaded_invoice(page, mailoutbox, freeze):
    freeze("2026-11-16 10:00 +01:00")
    _, gateway_token = gateway_token_create(name="passerelle")

    page.goto("/comptes/signup/")
    page.get_by_label("Nom de votre organisation").fill("Sahara Data SPA")
    page.get_by_label("Adresse e-mail").fill("nadia@sahara-data.dz")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe (confirmation)").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.get_by_role("heading", name="Vérifiez votre adresse e-mail").wait_for()
    page.goto(re.search(r"https?://\S+", mailoutbox[-1].body).group(0))
    page.get_by_role("button", name="Confirmer mon adresse").click()
    page.wait_for_url("**/espace-client/")

    # Standard from the 16th: half of its credits (15 of 30 days).
    page.get_by_role("link", name="Formule", exact=True).click()
    page.get_by_role("button", name="Passer à Standard").click()
    page.get_by_role("button", name="Confirmer le passage à Standard").click()
    page.get_by_text("Formule Standard activée").wait_for()

    page.get_by_role("link", name="API et pay as you go", exact=True).click()
    page.get_by_label("Nom de la clé").fill("Production")
    page.get_by_role("button", name="Créer une clé").click()
    api_key = page.get_by_test_id("nouvelle-cle").input_value()

    # The gateway reports one call: gpt-4.1, 500 tokens in and 1 500 out = 1,625 DZD.
    response = page.request.post(
        "/api/v1/gateway/usage/",
        headers={"Authorization": f"Bearer {gateway_token}"},
        data={
            "events": [
                {
                    "idempotency_key": "appel-1",
                    "api_key": api_key,
                    "model": "gpt-4.1",
                    "input_tokens": 500,
                    "output_tokens": 1500,
                }
            ]
        },
    )
    assert response.status == 200
    assert response.json()["results"][0] == {
        "idempotency_key": "appel-1",
        "status": "accepted",
        "cost": "1.625",
    }

    page.get_by_role("link", name="Tableau de bord", exact=True).click()
    assert text(page.get_by_test_id("credits-consommes")) == "1,63 DZD"
    assert text(page.get_by_test_id("credits-restants")) == "498,38 DZD"
    page.get_by_role("link", name="Consommation", exact=True).click()
    assert "gpt-4.1" in text(page.locator("main"))

    # Expert on the 21st: the preview first, then 10 of 30 days of the difference.
    freeze("2026-11-21 10:00 +01:00")
    page.get_by_role("link", name="Formule", exact=True).click()
    page.get_by_role("button", name="Passer à Expert").click()
    assert text(page.get_by_test_id("credits-ajoutes")) == "+500,00 DZD"  # 1 500 × 10 / 30
    assert text(page.get_by_test_id("frais-prorata")) == "833,33 DZD HT"  # 2 500 × 10 / 30
    page.get_by_role("button", name="Confirmer le passage à Expert").click()
    page.get_by_text("Formule Expert active dès maintenant").wait_for()

    page.get_by_role("link", name="API et pay as you go", exact=True).click()
    page.get_by_role("button", name="Activer le pay as you go").click()
    page.get_by_text("Pay as you go activé").first.wait_for()

    # The month closes on 1 December: Standard 5 days + Expert 10 days = 1 000,00 HT.
    freeze("2026-12-01 00:10 +01:00")
    call_command("close_period", "--month", "2026-11")

    # Two weeks later the session has expired: the customer logs in again.
    page.goto("/espace-client/factures/")
    page.get_by_label("Adresse e-mail").fill("nadia@sahara-data.dz")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/espace-client/factures/")
    invoice = Invoice.objects.get(account__owner__email="nadia@sahara-data.dz")
    assert invoice.number == "FA-2026-000001"
    row = text(page.locator("tbody tr").first)
    assert "FA-2026-000001" in row
    assert "1 190,00 DZD" in row  # 1 000,00 HT + 19 % TVA
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger la facture FA-2026-000001 en PDF").click()
    assert download.value.suggested_filename == "FA-2026-000001.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_staff_schedule_a_price_change_that_tarifs_announces(page, freeze):
    freeze("2026-11-16 10:00 +01:00")
    User.objects.create_superuser("staff@iafactory.dz", PASSWORD)

    page.goto("/admin/")
    page.get_by_label("Adresse e-mail").fill("staff@iafactory.dz")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    page.get_by_role("link", name="Modèles IA").click()
    page.get_by_role("link", name="gpt-4.1").first.click()
    new_row = page.locator("tr.form-row:not(.has_original):not(.empty-form)").last
    new_row.locator("input[name$='-effective_at_0']").fill("01/01/2027")
    new_row.locator("input[name$='-effective_at_1']").fill("00:00:00")
    new_row.locator("input[name$='-input_per_million']").fill("300")
    new_row.locator("input[name$='-output_per_million']").fill("1200")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.locator(".messagelist .success").wait_for()

    page.goto("/tarifs/")
    main = text(page.locator("main"))
    assert "à partir du 1er janvier 2027" in main
    assert "300 DZD" in main
