"""/tarifs/, the dashboard and an invoice in French, Arabic and English, in a real browser
(issue 15, Languages): the language chosen in the header, the page's direction, its labels and
its amounts; no French label left on an Arabic or English page."""

import pytest
from allauth.account.models import EmailAddress

from catalog.models import Plan
from tests.accounts.factories import PASSWORD, AccountFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SWITCH = {"fr": "Français", "ar": "العربية", "en": "English"}
# (page, words that must show, French words that must not) per language.
EXPECTED = {
    "fr": {
        "tarifs": (["Tarifs", "DZD"], []),
        "dashboard": (["Tableau de bord", "500,00 DZD"], []),
        "invoice": (["Total TTC", "1 190,00 DZD", "Télécharger le PDF"], []),
    },
    "ar": {
        "tarifs": (["د.ج"], ["Tableau de bord", "Se connecter"]),
        "dashboard": (
            ["لوحة القيادة", "500,00 د.ج"],
            ["Tableau de bord", "Changer de formule", "Consommation"],
        ),
        "invoice": (["1.190,00 د.ج"], ["Total TTC", "Télécharger le PDF", "Désignation"]),
    },
    "en": {
        "tarifs": (["DZD"], ["Se connecter", "par mois"]),
        "dashboard": (["Dashboard", "500.00 DZD"], ["Tableau de bord", "Consommation"]),
        "invoice": (["1,190.00 DZD", "Download the PDF"], ["Total TTC", "Désignation"]),
    },
}


@pytest.fixture
def customer():
    account = AccountFactory(
        name="Atlas Numérique SARL", subscription__plan=Plan.objects.get(slug="starter")
    )
    user = account.owner
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    invoice = InvoiceFactory(period=BillingPeriodFactory(account=account))
    return user, invoice


def text(page) -> str:
    return page.locator("main").inner_text().replace("\xa0", " ").replace("\u202f", " ")


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_tarifs_dashboard_and_invoice_read_in_the_chosen_language(
    browser, live_server, customer, language
):
    user, invoice = customer
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/tarifs/")
    page.locator(".lang-switch").get_by_role("button", name=SWITCH[language]).click()
    page.wait_for_load_state()
    direction = page.locator("html").get_attribute("dir")
    assert page.locator("html").get_attribute("lang") == language
    assert direction == ("rtl" if language == "ar" else None)

    pages = {
        "tarifs": "/tarifs/",
        "dashboard": "/espace-client/",
        "invoice": f"/espace-client/factures/{invoice.number}/",
    }
    page.goto("/comptes/login/")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/espace-client/")
    for name, url in pages.items():
        page.goto(url)
        shown = text(page)
        present, absent = EXPECTED[language][name]
        for words in present:
            assert words in shown, f"{name} in {language}: « {words} » missing"
        for words in absent:
            assert words not in shown, f"{name} in {language}: French « {words} » left"
        assert page.locator("html").get_attribute("dir") == direction
    context.close()
