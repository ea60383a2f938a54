import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import BillingSettings
from catalog import selectors
from catalog.models import AIModel, FaqEntry, ModelPrice, Plan
from catalog.templatetags.catalog_format import faq_answer_html
from tests.accounts.factories import UserFactory

from .factories import FaqEntryFactory, ImagePriceFactory, TextPriceFactory
from .pagetext import announced, block, content, price_now, row_cells, text

pytestmark = pytest.mark.django_db
ALGIERS = ZoneInfo("Africa/Algiers")
NEW_YEAR = datetime(2027, 1, 1, tzinfo=ALGIERS)

SEED_PLANS = [
    ("starter", "Starter", "500", "Pour tester IAFactory sur un petit volume."),
    ("standard", "Standard", "1 000", "Pour un usage régulier dans une petite équipe."),
    ("expert", "Expert", "2 500", "Pour un usage intensif ou plusieurs projets."),
]
SEED_TEXT_MODELS = [
    ("gpt-4.1", "250 DZD", "1 000 DZD"),
    ("gpt-5.2", "500 DZD", "1 500 DZD"),
    ("claude-sonnet-4.5", "750 DZD", "3 750 DZD"),
    ("gemini-3-pro", "312 DZD", "1 250 DZD"),
    ("mistral-medium", "125 DZD", "375 DZD"),
    ("deepseek-v3", "70 DZD", "140 DZD"),
]
SEED_IMAGE_MODELS = [("flux-schnell", "8 DZD / image"), ("stable-diffusion-3.5", "16 DZD / image")]


@pytest.fixture
def today(freeze):
    return freeze("2026-11-16 10:00 +01:00")


def tarifs(client) -> str:
    response = client.get(reverse("catalog:tarifs"))
    assert response.status_code == 200
    return content(response)


def announce_gpt41_new_year() -> ModelPrice:
    return TextPriceFactory(
        model=AIModel.objects.get(slug="gpt-4.1"),
        effective_at=NEW_YEAR,
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )


# Every figure of the reference data


@pytest.mark.parametrize(("slug", "name", "credits", "description"), SEED_PLANS)
def test_each_formula_shows_fee_credits_description_and_signup(
    client, today, slug, name, credits, description
):
    page = tarifs(client)

    card = block(page, rf'<li class="plan-card" data-plan="{slug}">')
    assert text(card) == (
        f"{name} {credits} DZD HT / mois {credits} DZD de crédits mensuels inclus "
        f"{description} Créer un compte avec la formule {name}"
    )
    assert (
        f'href="{reverse("account_signup")}?next=/espace-client/formule/%3Fformule%3D{slug}"'
        in card
    )


def test_signed_in_customer_is_offered_to_choose_the_formula(client, today):
    client.force_login(UserFactory())

    page = tarifs(client)

    card = block(page, r'<li class="plan-card" data-plan="standard">')
    assert text(card).endswith("Choisir cette formule : Standard")
    assert 'href="/espace-client/formule/"' in card
    assert reverse("account_signup") not in block(page, r'<ul class="plans"')


@pytest.mark.parametrize(("slug", "input_price", "output_price"), SEED_TEXT_MODELS)
def test_each_text_model_shows_input_and_output_price(
    client, today, slug, input_price, output_price
):
    page = tarifs(client)

    header, kind, input_cell, output_cell = row_cells(page, slug)
    assert text(header).split()[0] == slug
    assert text(kind) == "Texte"
    assert (price_now(input_cell), price_now(output_cell)) == (input_price, output_price)
    assert announced(input_cell) == announced(output_cell) == []


@pytest.mark.parametrize(("slug", "price"), SEED_IMAGE_MODELS)
def test_each_image_model_shows_its_price_per_image(client, today, slug, price):
    page = tarifs(client)

    header, kind, price_cell = row_cells(page, slug)
    assert text(header).split()[0] == slug
    assert (text(kind), price_now(price_cell)) == ("Image", price)


def test_page_has_the_four_sections_in_french(client, today):
    page = tarifs(client)

    headings = [text(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, re.S)]
    assert '<html lang="fr">' in page
    assert headings == [
        "Formules IAFactory (abonnement)",
        "Modèles & tarifs API",
        "Comprendre la facturation",
        "Calculer le coût d'un appel",
        "FAQ Tarifs",
        "Prêt à intégrer l'IA dans vos produits ?",
    ]
    assert page.count('<th scope="col"') == 7  # 4 text columns + 3 image columns


def test_inactive_models_and_plans_are_not_listed(client, today):
    AIModel.objects.filter(slug="deepseek-v3").update(is_active=False)
    Plan.objects.filter(slug="expert").update(is_active=False)

    page = tarifs(client)

    assert 'data-model="deepseek-v3"' not in page
    assert 'data-plan="expert"' not in page


# Worked examples


def test_worked_example_is_computed_from_gpt41_current_prices(client, today):
    page = tarifs(client)

    example = text(block(page, r'<div class="example" data-example="texte">'))
    assert example == (
        "Exemple avec gpt-4.1 (250 DZD en entrée, 1 000 DZD en sortie, par million de tokens) : "
        "500 tokens en entrée + 1 500 tokens en sortie = 2 000 tokens au total (0,002 M tokens). "
        "Coût = (prix input × 0,0005) + (prix output × 0,0015) "
        "= (250 × 0,0005) + (1 000 × 0,0015) = 0,125 + 1,5 "
        "= 1,625 DZD HT"
    )


def test_worked_example_follows_a_price_change_of_gpt41(client, freeze):
    freeze("2027-01-02 09:00 +01:00")
    announce_gpt41_new_year()

    page = tarifs(client)

    example = text(block(page, r'<div class="example" data-example="texte">'))
    assert example.endswith("= (300 × 0,0005) + (1 200 × 0,0015) = 0,15 + 1,8 = 1,95 DZD HT")


def test_worked_example_uses_the_first_text_model_when_gpt41_is_off(client, today):
    AIModel.objects.filter(slug="gpt-4.1").update(is_active=False)

    page = tarifs(client)

    example = text(block(page, r'<div class="example" data-example="texte">'))
    assert example.startswith("Exemple avec gpt-5.2 (500 DZD en entrée")
    assert example.endswith("= 0,25 + 2,25 = 2,5 DZD HT")


def test_image_example_is_count_times_first_image_model_price(client, today):
    page = tarifs(client)

    example = text(block(page, r'<div class="example" data-example="image">'))
    assert example == (
        "Exemple avec flux-schnell (8 DZD par image) : "
        "4 images générées × 8 DZD par image = 32 DZD HT"
    )


# Announced prices


def test_future_price_is_announced_not_current_before_its_instant(client, freeze):
    freeze("2026-12-31 23:59 +01:00")
    announce_gpt41_new_year()

    page = tarifs(client)

    _, _, input_cell, output_cell = row_cells(page, "gpt-4.1")
    assert (price_now(input_cell), price_now(output_cell)) == ("250 DZD", "1 000 DZD")
    assert announced(input_cell) == ["Annoncé à partir du 1er janvier 2027 : 300 DZD"]
    assert announced(output_cell) == ["Annoncé à partir du 1er janvier 2027 : 1 200 DZD"]
    assert "gpt-4.1 , à partir du 1er janvier 2027 : 300 DZD (input) / 1 200 DZD (output)" in (
        text(block(page, r'<aside class="alert alert-warning announcements"'))
    )


def test_future_price_is_current_from_its_instant(client, freeze):
    announce_gpt41_new_year()
    freeze("2027-01-01 00:00 +01:00")

    page = tarifs(client)

    _, _, input_cell, output_cell = row_cells(page, "gpt-4.1")
    assert (price_now(input_cell), price_now(output_cell)) == ("300 DZD", "1 200 DZD")
    assert announced(input_cell) == announced(output_cell) == []
    assert "announcements" not in page


def test_future_price_is_current_from_its_instant_with_a_warm_cache(client, freeze):
    freeze("2026-12-31 23:59 +01:00")
    announce_gpt41_new_year()
    before = tarifs(client)

    freeze("2027-01-01 00:00 +01:00")
    after = tarifs(client)

    assert price_now(row_cells(before, "gpt-4.1")[2]) == "250 DZD"
    assert price_now(row_cells(after, "gpt-4.1")[2]) == "300 DZD"


def test_snapshot_kept_by_the_cache_past_its_instant_is_not_served(client, freeze, monkeypatch):
    # A cache server whose clock disagrees with ours may keep the entry longer than asked.
    monkeypatch.setattr(selectors, "tarifs_catalog_timeout", lambda snapshot, now: None)
    freeze("2026-12-31 23:59 +01:00")
    announce_gpt41_new_year()
    tarifs(client)

    freeze("2027-01-01 00:00 +01:00")
    page = tarifs(client)

    assert price_now(row_cells(page, "gpt-4.1")[2]) == "300 DZD"


def test_cache_timeout_stops_at_the_next_announced_price(freeze):
    now = freeze("2026-12-31 23:59 +01:00")
    announce_gpt41_new_year()

    snapshot = selectors.tarifs_catalog_build(now)

    assert snapshot.valid_until == NEW_YEAR
    assert selectors.tarifs_catalog_timeout(snapshot, now) == 60


def test_cache_timeout_without_announced_price_is_the_default(today):
    snapshot = selectors.tarifs_catalog_build(today)

    assert selectors.tarifs_catalog_timeout(snapshot, today) == selectors.CACHE_TIMEOUT


def test_past_date_does_not_reuse_a_snapshot_taken_after_a_change(client, freeze):
    announce_gpt41_new_year()
    freeze("2027-01-02 09:00 +01:00")
    tarifs(client)

    freeze("2026-12-30 09:00 +01:00")
    page = tarifs(client)

    assert price_now(row_cells(page, "gpt-4.1")[2]) == "250 DZD"


# Cache and invalidation


def test_warm_cache_serves_the_page_without_queries(client, today):
    tarifs(client)

    with CaptureQueriesContext(connection) as queries:
        tarifs(client)

    assert len(queries) == 0


def test_editing_a_plan_shows_on_the_next_request(client, today):
    tarifs(client)
    plan = Plan.objects.get(slug="starter")
    plan.monthly_fee = Decimal("650.00")
    plan.description = "Pour découvrir."
    plan.save()

    page = tarifs(client)

    card = text(block(page, r'<li class="plan-card" data-plan="starter">'))
    assert card.startswith(
        "Starter 650 DZD HT / mois 500 DZD de crédits mensuels inclus Pour découvrir."
    )


def test_adding_a_price_shows_on_the_next_request(client, today):
    tarifs(client)
    TextPriceFactory(
        model=AIModel.objects.get(slug="mistral-medium"),
        effective_at=datetime(2026, 11, 16, 9, 0, tzinfo=ALGIERS),
        input_per_million=Decimal("99.5"),
        output_per_million=Decimal("300"),
    )

    page = tarifs(client)

    _, _, input_cell, output_cell = row_cells(page, "mistral-medium")
    assert (price_now(input_cell), price_now(output_cell)) == ("99,5 DZD", "300 DZD")


def test_deleting_an_announced_price_shows_on_the_next_request(client, today):
    price = announce_gpt41_new_year()
    assert announced(row_cells(tarifs(client), "gpt-4.1")[2]) != []

    price.delete()

    assert announced(row_cells(tarifs(client), "gpt-4.1")[2]) == []


def test_editing_a_model_shows_on_the_next_request(client, today):
    tarifs(client)
    model = AIModel.objects.get(slug="gpt-5.2")
    model.is_active = False
    model.save()

    page = tarifs(client)

    assert 'data-model="gpt-5.2"' not in page


def test_editing_the_faq_shows_on_the_next_request(client, today):
    tarifs(client)
    entry = FaqEntry.objects.get(order=1)
    entry.question = "La TVA est-elle comprise ?"
    entry.save()
    FaqEntryFactory(question="Question cachée ?", is_published=False)

    page = tarifs(client)

    assert "La TVA est-elle comprise ?" in page
    assert "Question cachée" not in page


def test_editing_billing_settings_shows_on_the_next_request(client, today):
    tarifs(client)
    settings = BillingSettings.load()
    settings.tva_rate = Decimal("9.50")
    settings.save()

    page = tarifs(client)

    assert "La TVA au taux en vigueur (9,5 %) est ajoutée sur chaque facture." in text(page)


# Query count


def test_query_count_does_not_grow_with_the_number_of_models(client, today):
    with CaptureQueriesContext(connection) as with_8_models:
        tarifs(client)
    TextPriceFactory.create_batch(24)
    ImagePriceFactory.create_batch(8)
    FaqEntryFactory.create_batch(5)
    cache.clear()

    with CaptureQueriesContext(connection) as with_40_models:
        page = tarifs(client)

    assert page.count("<tr data-model=") == 40
    assert len(with_40_models) == len(with_8_models) == 5  # plans, models, prices, FAQ, settings


# FAQ


def test_faq_lists_published_entries_in_order(client, today):
    FaqEntryFactory(question="Dernière question ?", order=99)
    FaqEntryFactory(question="Première question ?", order=0)

    page = tarifs(client)

    questions = [text(q) for q in re.findall(r"<summary>(.*?)</summary>", page)]
    assert questions == [
        "Première question ?",
        "Les prix incluent-ils la TVA ?",
        "Que se passe-t-il si je dépasse mes crédits mensuels ?",
        "Puis-je changer de formule à tout moment ?",
        "Les tarifs peuvent-ils évoluer ?",
        "Où trouver plus de détails techniques sur les modèles ?",
        "Dernière question ?",
    ]


def test_faq_placeholders_are_filled_from_billing_settings(client, today):
    settings = BillingSettings.load()
    settings.tva_rate = Decimal("7.00")
    settings.price_notice_days = 45
    settings.save()

    page = tarifs(client)

    faq = text(block(page, r'<section id="faq"'))
    assert "La TVA au taux en vigueur (7 %) est ajoutée sur chaque facture." in faq
    assert "au moins 45 jours à l'avance" in faq
    assert "{" not in faq
    docs_link = (
        f'<a href="{reverse("catalog:api_docs")}">Documentation API → Models &amp; Pricing</a>'
    )
    assert f"La page {docs_link} décrit les modèles" in page


def test_faq_default_tva_rate_reads_19_percent(client, today):
    page = tarifs(client)

    assert "(19 %)" in text(page)


def test_faq_answer_is_escaped_then_filled_with_bullets_kept():
    answer = (
        "Avant <b>gras</b> {taux_tva} :\n- un {lien_documentation}\n- deux & {preavis_jours}\nFin."
    )

    html = faq_answer_html(answer, tva_rate=Decimal("19.00"), notice_days=30, docs_url="/doc/")

    assert html == (
        "<p>Avant &lt;b&gt;gras&lt;/b&gt; 19\u00a0% :</p>"
        '<ul><li>un <a href="/doc/">Documentation API → Models &amp; Pricing</a></li>'
        "<li>deux &amp; 30</li></ul>"
        "<p>Fin.</p>"
    )


def test_home_redirects_to_tarifs(client):
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/tarifs/")
