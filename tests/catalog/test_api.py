from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from catalog.models import AIModel, Plan

from .factories import AIModelFactory, ImagePriceFactory, TextPriceFactory

pytestmark = pytest.mark.django_db
ALGIERS = ZoneInfo("Africa/Algiers")

# DESIGN.md section 2, written out again: the API must show exactly these figures.
SEED_TEXT = {
    "gpt-4.1": ("250", "1000"),
    "gpt-5.2": ("500", "1500"),
    "claude-sonnet-4.5": ("750", "3750"),
    "gemini-3-pro": ("312", "1250"),
    "mistral-medium": ("125", "375"),
    "deepseek-v3": ("70", "140"),
}
SEED_IMAGE = {"flux-schnell": "8", "stable-diffusion-3.5": "16"}
SEED_PLANS = [
    ("starter", "Starter", "500", "Pour tester IAFactory sur un petit volume."),
    ("standard", "Standard", "1000", "Pour un usage régulier dans une petite équipe."),
    ("expert", "Expert", "2500", "Pour un usage intensif ou plusieurs projets."),
]


@pytest.fixture
def now(freeze):
    return freeze("2026-11-16 10:00 +01:00")


def test_models_lists_every_seed_price_as_exact_strings(client, now):
    response = client.get("/api/v1/models/")

    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()}
    assert set(rows) == set(SEED_TEXT) | set(SEED_IMAGE)
    for slug, (price_in, price_out) in SEED_TEXT.items():
        assert rows[slug]["kind"] == "text"
        assert (
            rows[slug]["input_per_million"],
            rows[slug]["output_per_million"],
            rows[slug]["per_image"],
        ) == (price_in, price_out, None)
    for slug, per_image in SEED_IMAGE.items():
        assert rows[slug]["kind"] == "image"
        assert (
            rows[slug]["input_per_million"],
            rows[slug]["output_per_million"],
            rows[slug]["per_image"],
        ) == (None, None, per_image)


def test_models_row_shape(client, now):
    response = client.get("/api/v1/models/")

    gpt = next(row for row in response.json() if row["slug"] == "gpt-4.1")
    assert gpt == {
        "slug": "gpt-4.1",
        "name": "GPT-4.1",
        "kind": "text",
        "description": "",
        "currency": "DZD",
        "effective_at": "2026-01-01T00:00:00+01:00",
        "input_per_million": "250",
        "output_per_million": "1000",
        "per_image": None,
        "upcoming": [],
    }


def test_models_lists_text_models_first_in_staff_order(client, now):
    response = client.get("/api/v1/models/")

    assert [row["slug"] for row in response.json()] == [
        *SEED_TEXT,
        *SEED_IMAGE,
    ]


def test_models_shows_an_announced_price_as_upcoming(client, now):
    model = AIModel.objects.get(slug="gpt-4.1")
    TextPriceFactory(
        model=model,
        effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS),
        input_per_million=Decimal("300.5000"),
        output_per_million=Decimal("1200"),
    )

    response = client.get("/api/v1/models/")

    gpt = next(row for row in response.json() if row["slug"] == "gpt-4.1")
    assert (gpt["input_per_million"], gpt["output_per_million"]) == ("250", "1000")
    assert gpt["upcoming"] == [
        {
            "effective_at": "2027-01-01T00:00:00+01:00",
            "input_per_million": "300.5",
            "output_per_million": "1200",
            "per_image": None,
        }
    ]


def test_models_hides_inactive_and_not_yet_priced_models(client, now):
    AIModel.objects.filter(slug="deepseek-v3").update(is_active=False)
    TextPriceFactory(
        model=AIModelFactory(slug="future-model"),
        effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS),
    )

    response = client.get("/api/v1/models/")

    slugs = {row["slug"] for row in response.json()}
    assert "deepseek-v3" not in slugs
    assert "future-model" not in slugs
    assert "gpt-4.1" in slugs


def test_models_query_count_does_not_grow_with_the_catalog(client, now, django_assert_num_queries):
    for _ in range(10):
        TextPriceFactory()
        ImagePriceFactory()

    with django_assert_num_queries(2):
        response = client.get("/api/v1/models/")

    assert len(response.json()) == 8 + 20


def test_plans_lists_every_seed_formula_as_exact_strings(client):
    response = client.get("/api/v1/plans/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": slug,
            "name": name,
            "description": description,
            "included_credits": credits,
            "monthly_fee": credits,
            "currency": "DZD",
        }
        for slug, name, credits, description in SEED_PLANS
    ]


def test_plans_hides_inactive_formulas_and_shows_a_distinct_fee(client):
    Plan.objects.filter(slug="standard").update(is_active=False)
    Plan.objects.filter(slug="expert").update(monthly_fee=Decimal("2400.50"))

    response = client.get("/api/v1/plans/")

    assert [(row["slug"], row["monthly_fee"]) for row in response.json()] == [
        ("starter", "500"),
        ("expert", "2400.5"),
    ]


def test_estimate_source_page_example(client, now):
    response = client.get(
        "/api/v1/estimate/", {"model": "gpt-4.1", "input_tokens": 500, "output_tokens": 1500}
    )

    assert response.status_code == 200
    assert response.json() == {
        "model": "gpt-4.1",
        "input_tokens": 500,
        "output_tokens": 1500,
        "images": 0,
        "cost": "1.625",
        "currency": "DZD",
        "prices": {
            "effective_at": "2026-01-01T00:00:00+01:00",
            "input_per_million": "250",
            "output_per_million": "1000",
            "per_image": None,
        },
        "at": "2026-11-16T10:00:00+01:00",
    }


def test_estimate_image_model(client, now):
    response = client.get("/api/v1/estimate/", {"model": "stable-diffusion-3.5", "images": 3})

    assert response.status_code == 200
    body = response.json()
    assert (body["cost"], body["images"], body["input_tokens"]) == ("48", 3, 0)
    assert body["prices"]["per_image"] == "16"


def test_estimate_with_four_decimal_prices_is_exact(client, now):
    TextPriceFactory(
        model=AIModelFactory(slug="precise"),
        input_per_million=Decimal("312.1234"),
        output_per_million=Decimal("0.0001"),
    )

    response = client.get(
        "/api/v1/estimate/", {"model": "precise", "input_tokens": 7, "output_tokens": 3}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["cost"] == "0.0021848641"  # (7 × 312.1234 + 3 × 0.0001) / 1e6
    assert body["prices"]["input_per_million"] == "312.1234"
    assert body["prices"]["output_per_million"] == "0.0001"


def test_estimate_large_cost_has_no_exponent(client, now):
    response = client.get(
        "/api/v1/estimate/", {"model": "claude-sonnet-4.5", "output_tokens": 10_000_000_000}
    )

    assert response.json()["cost"] == "37500000"


def test_estimate_only_output_tokens(client, now):
    response = client.get("/api/v1/estimate/", {"model": "gpt-4.1", "output_tokens": "1500"})

    assert response.json()["cost"] == "1.5"


def test_estimate_uses_the_price_in_effect_now(client, freeze):
    TextPriceFactory(
        model=AIModel.objects.get(slug="gpt-4.1"),
        effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )
    params = {"model": "gpt-4.1", "input_tokens": 500, "output_tokens": 1500}

    freeze("2026-12-31 23:59 +01:00")
    before = client.get("/api/v1/estimate/", params).json()
    freeze("2027-01-01 00:00 +01:00")
    after = client.get("/api/v1/estimate/", params).json()

    assert (before["cost"], after["cost"]) == ("1.625", "1.95")  # 0.15 + 1.8


def test_estimate_query_count_is_constant(client, now, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = client.get("/api/v1/estimate/", {"model": "gpt-4.1", "input_tokens": 1})

    assert response.status_code == 200


TOO_MANY_DIGITS = "9" * 5000


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"input_tokens": 500}, "model", "Indiquez un modèle"),
        ({"model": "", "input_tokens": 500}, "model", "Indiquez un modèle"),
        ({"model": "gpt-9", "input_tokens": 500}, "model", "Modèle inconnu"),
        ({"model": "GPT-4.1 ", "input_tokens": 500}, "model", "Modèle inconnu"),
        ({"model": "gpt\x00-4.1", "input_tokens": 500}, "model", "Modèle inconnu"),
        ({"model": "x" * 5000, "input_tokens": 500}, "model", "Modèle inconnu"),
        ({"model": "gpt-4.1", "input_tokens": -1}, "input_tokens", "négatif"),
        ({"model": "gpt-4.1", "output_tokens": "-5"}, "output_tokens", "négatif"),
        ({"model": "gpt-4.1", "input_tokens": "1.5"}, "input_tokens", "nombre entier"),
        ({"model": "gpt-4.1", "input_tokens": "1e3"}, "input_tokens", "nombre entier"),
        ({"model": "gpt-4.1", "input_tokens": "abc"}, "input_tokens", "nombre entier"),
        ({"model": "gpt-4.1", "output_tokens": "0x10"}, "output_tokens", "nombre entier"),
        ({"model": "gpt-4.1", "input_tokens": "NaN"}, "input_tokens", "nombre entier"),
        ({"model": "gpt-4.1", "input_tokens": 10**10 + 1}, "input_tokens", "maximum"),
        ({"model": "gpt-4.1", "input_tokens": TOO_MANY_DIGITS}, "input_tokens", "maximum"),
        ({"model": "gpt-4.1", "input_tokens": "-" + TOO_MANY_DIGITS}, "input_tokens", "négatif"),
        ({"model": "flux-schnell", "images": 10**6 + 1}, "images", "maximum"),
        ({"model": "flux-schnell", "images": TOO_MANY_DIGITS}, "images", "maximum"),
        ({"model": "gpt-4.1", "input_tokens": 10, "images": 2}, "images", "modèle texte"),
        ({"model": "flux-schnell", "input_tokens": 10}, "input_tokens", "modèle image"),
        ({"model": "flux-schnell", "images": 1, "output_tokens": 3}, "output_tokens", "image"),
        ({"model": "gpt-4.1"}, "input_tokens", "au moins une quantité"),
        ({"model": "gpt-4.1", "input_tokens": 0, "output_tokens": 0}, "input_tokens", "au moins"),
        ({"model": "flux-schnell"}, "images", "au moins une image"),
        ({"model": "flux-schnell", "images": "0"}, "images", "au moins une image"),
    ],
)
def test_estimate_bad_input_is_a_400_naming_the_field(client, now, params, field, words):
    response = client.get("/api/v1/estimate/", params)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert words in errors[field][0]


def test_estimate_error_example_body(client):
    response = client.get("/api/v1/estimate/", {"model": "gpt-9", "input_tokens": 1})

    assert response.json() == {"errors": {"model": ["Modèle inconnu : « gpt-9 »."]}}


def test_estimate_of_an_inactive_model_is_a_400(client, now):
    AIModel.objects.filter(slug="deepseek-v3").update(is_active=False)

    response = client.get("/api/v1/estimate/", {"model": "deepseek-v3", "input_tokens": 1})

    assert response.status_code == 400
    assert response.json() == {"errors": {"model": ["Modèle inconnu : « deepseek-v3 »."]}}


def test_estimate_of_a_model_without_a_price_in_effect_is_a_400(client, now):
    TextPriceFactory(
        model=AIModelFactory(slug="soon"), effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS)
    )

    response = client.get("/api/v1/estimate/", {"model": "soon", "input_tokens": 1})

    assert response.status_code == 400
    assert response.json() == {
        "errors": {"model": ["« soon » n'a pas de prix en vigueur à cette date."]}
    }


def test_public_endpoints_need_no_authentication_and_answer_json(client, now):
    for url in ("/api/v1/models/", "/api/v1/plans/", "/api/v1/estimate/?model=gpt-4.1&images=x"):
        response = client.get(url)

        assert response.status_code in (200, 400)
        assert response["Content-Type"] == "application/json"
