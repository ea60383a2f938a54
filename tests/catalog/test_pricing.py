from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from catalog.models import AIModel
from catalog.pricing import PricingError, estimate_cost, price_model_usage

from .factories import TextPriceFactory

pytestmark = pytest.mark.django_db
ALGIERS = ZoneInfo("Africa/Algiers")


def test_source_page_example_gpt41_costs_1_625_dzd():
    estimate = estimate_cost(model_slug="gpt-4.1", input_tokens=500, output_tokens=1500)

    assert estimate.cost == Decimal("1.625")


def test_image_cost_is_count_times_price():
    estimate = estimate_cost(model_slug="stable-diffusion-3.5", images=3)

    assert estimate.cost == Decimal("48")


def test_four_decimal_prices_stay_exact():
    price = TextPriceFactory(
        input_per_million=Decimal("312.1234"), output_per_million=Decimal("0.0001")
    )

    estimate = price_model_usage(model=price.model, input_tokens=7, output_tokens=3)

    assert estimate.cost == Decimal("0.0021848641")  # (7 × 312.1234 + 3 × 0.0001) / 1e6


def test_price_in_effect_at_the_instant_is_used():
    model = AIModel.objects.get(slug="gpt-4.1")
    TextPriceFactory(
        model=model,
        effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )

    before = estimate_cost(
        model_slug="gpt-4.1",
        input_tokens=1_000_000,
        at=datetime(2026, 12, 31, 23, 59, 59, tzinfo=ALGIERS),
    )
    after = estimate_cost(
        model_slug="gpt-4.1", input_tokens=1_000_000, at=datetime(2027, 1, 1, tzinfo=ALGIERS)
    )

    assert (before.cost, after.cost) == (Decimal("250"), Decimal("300"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model_slug": "nope", "input_tokens": 1}, "model"),
        ({"model_slug": "", "input_tokens": 1}, "model"),
        ({"model_slug": "gpt-4.1", "input_tokens": -1}, "input_tokens"),
        ({"model_slug": "gpt-4.1", "output_tokens": "1.5"}, "output_tokens"),
        ({"model_slug": "gpt-4.1", "input_tokens": "abc"}, "input_tokens"),
        ({"model_slug": "gpt-4.1", "images": 2}, "images"),
        ({"model_slug": "flux-schnell", "input_tokens": 10}, "input_tokens"),
        ({"model_slug": "gpt-4.1", "input_tokens": 10**13}, "input_tokens"),
        ({"model_slug": "gpt-4.1", "input_tokens": True}, "input_tokens"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(PricingError) as error:
        estimate_cost(**kwargs)

    assert error.value.field == field


def test_a_huge_digit_string_is_a_clear_error_not_a_crash():
    with pytest.raises(PricingError, match="entier"):
        estimate_cost(model_slug="gpt-4.1", input_tokens="9" * 5000)


def test_model_slugs_accept_dots_like_the_source_page():
    from django.core.exceptions import ValidationError

    from .factories import AIModelFactory

    model = AIModelFactory.build(slug="gpt-5.3", name="GPT-5.3")
    model.full_clean()

    with pytest.raises(ValidationError):
        AIModelFactory.build(slug="GPT 5", name="x").full_clean()


@pytest.mark.parametrize("slug", ["gpt\x00-4.1", "x" * 500, "gpt 4.1"])
def test_impossible_model_identifiers_are_unknown_models(slug):
    with pytest.raises(PricingError) as error:
        estimate_cost(model_slug=slug, input_tokens=1)

    assert error.value.field == "model"
