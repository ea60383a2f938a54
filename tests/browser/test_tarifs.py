"""The Tarifs page in headless Chromium: the calculator updates in place, and works without JS."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_calculator_shows_the_cost_without_reloading_the_page(page):
    page.goto("/tarifs/")
    url = page.url
    # Survives only if the document is never reloaded or replaced.
    page.evaluate("window.__sameDocument = true")

    page.select_option("#calc-model", "gpt-4.1")
    page.locator("#calc-input_tokens").press_sequentially("500")
    page.locator("#calc-output_tokens").press_sequentially("1500")

    expect(page.get_by_test_id("cout")).to_have_text("1,625")
    expect(page.locator("#calcul-resultat")).to_contain_text("DZD HT")
    assert page.url == url
    assert page.evaluate("window.__sameDocument") is True


def test_image_model_hides_token_fields_and_counts_images(page):
    page.goto("/tarifs/")
    page.select_option("#calc-model", "gpt-4.1")
    page.fill("#calc-input_tokens", "500")

    page.select_option("#calc-model", "stable-diffusion-3.5")
    page.fill("#calc-images", "3")

    expect(page.locator("#calc-input_tokens")).to_be_hidden()
    expect(page.locator("#calc-output_tokens")).to_be_hidden()
    expect(page.get_by_test_id("cout")).to_have_text("48")
    expect(page.locator("#calcul-resultat")).to_contain_text("3 images × 16")
    expect(page.locator("#calc-input_tokens-error")).to_be_empty()


def test_bad_input_message_appears_next_to_the_field(page):
    page.goto("/tarifs/")

    page.select_option("#calc-model", "gpt-4.1")
    page.fill("#calc-output_tokens", "-3")

    expect(page.locator("#calc-output_tokens-error")).to_have_text(
        "Le nombre de tokens en sortie ne peut pas être négatif."
    )
    expect(page.locator("#calcul-resultat")).to_contain_text("Calcul impossible")
    expect(page.locator("#calc-output_tokens")).to_have_attribute("aria-invalid", "true")

    page.fill("#calc-output_tokens", "3")

    expect(page.get_by_test_id("cout")).to_have_text("0,003")
    expect(page.locator("#calc-output_tokens-error")).to_be_empty()
    expect(page.locator("#calc-output_tokens")).not_to_have_attribute("aria-invalid", "true")


def test_calculator_works_without_javascript(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", java_script_enabled=False
    )
    page = context.new_page()
    page.goto("/tarifs/")

    page.select_option("#calc-model", "gpt-4.1")
    page.fill("#calc-input_tokens", "500")
    page.fill("#calc-output_tokens", "1500")
    page.get_by_role("button", name="Calculer le coût").click()

    expect(page.get_by_test_id("cout")).to_have_text("1,625")
    assert page.url.endswith(
        "/tarifs/?model=gpt-4.1&input_tokens=500&output_tokens=1500&images=#calculateur"
    )
    context.close()


@pytest.mark.parametrize("path", ["/tarifs/", "/documentation-api/"])
def test_page_fits_a_phone_screen(browser, live_server, path):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(path)

    # Wide tables scroll inside .table-wrap; the page itself never scrolls sideways.
    width = page.evaluate("document.documentElement.scrollWidth")

    assert width == 390
    context.close()
