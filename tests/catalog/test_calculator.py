"""The Tarifs cost calculator: htmx partial and plain form, same result, French errors.

Bad input answers 200 in both modes (htmx does not swap 4xx responses by default): the page
shows the message next to the field; the partial carries it out of band to the same place.
"""

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from catalog.models import AIModel

from .factories import TextPriceFactory
from .pagetext import block, content, text

pytestmark = pytest.mark.django_db
ALGIERS = ZoneInfo("Africa/Algiers")
HTMX = {"HX-Request": "true"}
EXAMPLE = {"model": "gpt-4.1", "input_tokens": "500", "output_tokens": "1500"}


@pytest.fixture(autouse=True)
def _today(freeze):
    freeze("2026-11-16 10:00 +01:00")


def result_box(page: str) -> str:
    return text(block(page, r'<div id="calcul-resultat"'))


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="calc-{name}-error"[^>]*>(.*?)</p>', page, re.S)
    assert match is not None, f"no error slot for {name}"
    return text(match.group(1))


def test_htmx_request_returns_only_the_partial_with_the_exact_cost(client):
    response = client.get(reverse("catalog:calcul"), EXAMPLE, headers=HTMX)

    page = content(response)
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    assert page.lstrip().startswith('<div id="calcul-resultat"')
    assert "<html" not in page
    assert result_box(page) == (
        "Coût estimé gpt-4.1 , au tarif en vigueur aujourd'hui 1,625 DZD HT "
        "500 tokens en entrée × 250 DZD / 1M = 0,125 DZD "
        "1 500 tokens en sortie × 1 000 DZD / 1M = 1,5 DZD "
        "Montant hors taxes (TVA en sus). Ce coût est d'abord déduit des crédits inclus "
        "dans votre formule."
    )


def test_htmx_request_to_the_page_itself_also_gets_the_partial(client):
    response = client.get(reverse("catalog:tarifs"), EXAMPLE, headers=HTMX)

    assert "<html" not in content(response)
    assert "1,625 DZD HT" in result_box(content(response))


def test_htmx_partial_clears_the_field_errors_out_of_band(client):
    response = client.get(reverse("catalog:calcul"), EXAMPLE, headers=HTMX)

    slots = re.findall(
        r'<p class="field-error" id="calc-(\w+)-error" hx-swap-oob="true">(.*?)</p>',
        content(response),
    )
    assert slots == [("model", ""), ("input_tokens", ""), ("output_tokens", ""), ("images", "")]


def test_plain_get_renders_the_full_page_with_the_result_and_the_values_kept(client):
    response = client.get(reverse("catalog:tarifs"), EXAMPLE)

    page = content(response)
    assert response.status_code == 200
    assert "<html" in page
    assert "1,625 DZD HT" in result_box(page)
    assert '<option value="gpt-4.1" data-kind="text" selected>' in page
    assert re.search(r'name="input_tokens"[^>]*value="500"', page)
    assert re.search(r'name="output_tokens"[^>]*value="1500"', page)


def test_plain_get_on_the_htmx_endpoint_lands_on_the_page_calculator(client):
    response = client.get(reverse("catalog:calcul"), EXAMPLE)

    assert response.status_code == 302
    assert response["Location"] == (
        "/tarifs/?model=gpt-4.1&input_tokens=500&output_tokens=1500#calculateur"
    )


def test_form_works_without_javascript(client):
    page = content(client.get(reverse("catalog:tarifs")))

    form = block(page, r'<form class="calc-form"')
    assert 'method="get" action="/tarifs/#calculateur"' in form
    assert '<button type="submit"' in form
    assert "Choisissez un modèle et indiquez un volume" in result_box(page)


def test_image_model_counts_images(client):
    response = client.get(
        reverse("catalog:calcul"), {"model": "stable-diffusion-3.5", "images": "3"}, headers=HTMX
    )

    box = result_box(content(response))
    assert "48 DZD HT" in box
    assert "3 images × 16 DZD = 48 DZD" in box


def test_french_thousands_are_accepted(client):
    query = {"model": "gpt-4.1", "input_tokens": "500", "output_tokens": "1\u00a0500"}

    response = client.get(reverse("catalog:calcul"), query, headers=HTMX)

    assert "1,625 DZD HT" in result_box(content(response))


def test_four_decimal_prices_give_an_exact_cost(client):
    TextPriceFactory(
        model__slug="precise",
        input_per_million=Decimal("312.1234"),
        output_per_million=Decimal("0.0001"),
    )
    query = {"model": "precise", "input_tokens": "7", "output_tokens": "3"}

    response = client.get(reverse("catalog:calcul"), query, headers=HTMX)

    assert "0,0021848641 DZD HT" in result_box(content(response))


def test_announced_price_is_shown_for_the_same_usage(client):
    TextPriceFactory(
        model=AIModel.objects.get(slug="gpt-4.1"),
        effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )

    response = client.get(reverse("catalog:calcul"), EXAMPLE, headers=HTMX)

    box = result_box(content(response))
    assert "1,625 DZD HT" in box
    assert "Annoncé À partir du 1er janvier 2027, le même usage coûtera 1,95 DZD HT" in box


BAD_INPUT = [
    ({"model": "", "input_tokens": "5"}, "model", "Indiquez un modèle (« model »)."),
    ({"model": "nope"}, "model", "Modèle inconnu : « nope »."),
    (
        {"model": "gpt-4.1", "input_tokens": "abc"},
        "input_tokens",
        "Le nombre de tokens en entrée doit être un nombre entier.",
    ),
    (
        {"model": "gpt-4.1", "output_tokens": "1.5"},
        "output_tokens",
        "Le nombre de tokens en sortie doit être un nombre entier.",
    ),
    (
        {"model": "gpt-4.1", "input_tokens": "-1"},
        "input_tokens",
        "Le nombre de tokens en entrée ne peut pas être négatif.",
    ),
    (
        {"model": "gpt-4.1", "input_tokens": "10000000000000"},
        "input_tokens",
        "Le nombre de tokens en entrée dépasse le maximum autorisé (10 000 000 000).",
    ),
    (
        {"model": "gpt-4.1", "images": "2"},
        "images",
        "« gpt-4.1 » est un modèle texte : pas d'images.",
    ),
    (
        {"model": "flux-schnell", "input_tokens": "10", "images": "1"},
        "input_tokens",
        "« flux-schnell » est un modèle image : comptez des images.",
    ),
    (
        {"model": "flux-schnell", "images": "1e3"},
        "images",
        "Le nombre d'images doit être un nombre entier.",
    ),
]


@pytest.mark.parametrize(("query", "field", "message"), BAD_INPUT)
def test_bad_input_shows_a_french_message_next_to_the_field_on_the_page(
    client, query, field, message
):
    response = client.get(reverse("catalog:tarifs"), query)

    page = content(response)
    assert response.status_code == 200
    assert field_error(page, field) == message
    assert result_box(page) == f"Calcul impossible {message}"
    assert re.search(rf'id="calc-{field}"[^>]*aria-invalid="true"', page, re.S)


@pytest.mark.parametrize(("query", "field", "message"), BAD_INPUT)
def test_bad_input_in_the_partial_is_swapped_next_to_the_field(client, query, field, message):
    response = client.get(reverse("catalog:calcul"), query, headers=HTMX)

    page = content(response)
    assert response.status_code == 200
    assert field_error(page, field) == message
    assert f'id="calc-{field}-error" hx-swap-oob="true"' in page
    assert result_box(page) == f"Calcul impossible {message}"


def test_model_without_a_price_in_effect_is_not_offered_and_is_explained(client):
    TextPriceFactory(model__slug="bientot", effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS))

    page = content(client.get(reverse("catalog:tarifs"), {"model": "bientot"}))

    assert '<option value="bientot"' not in page
    assert field_error(page, "model") == "« bientot » n'a pas de prix en vigueur à cette date."


def test_two_bad_fields_are_both_reported_next_to_their_fields(client):
    query = {"model": "gpt-4.1", "input_tokens": "-1", "output_tokens": "10000000000000"}

    page = content(client.get(reverse("catalog:tarifs"), query))

    assert field_error(page, "input_tokens") == (
        "Le nombre de tokens en entrée ne peut pas être négatif."
    )
    assert field_error(page, "output_tokens") == (
        "Le nombre de tokens en sortie dépasse le maximum autorisé (10 000 000 000)."
    )
    assert result_box(page) == (
        "Calcul impossible Le nombre de tokens en entrée ne peut pas être négatif. "
        "Le nombre de tokens en sortie dépasse le maximum autorisé (10 000 000 000)."
    )
