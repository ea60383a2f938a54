import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from catalog.models import AIModel, Plan

from .factories import ImagePriceFactory, PlanFactory, TextPriceFactory
from .pagetext import announced, block, content, price_now, row_cells, text

pytestmark = pytest.mark.django_db
ALGIERS = ZoneInfo("Africa/Algiers")
ENDPOINTS = [
    ("GET", "/api/v1/models/"),
    ("GET", "/api/v1/plans/"),
    ("GET", "/api/v1/estimate/"),
    ("GET", "/api/v1/account/"),
    ("GET", "/api/v1/usage/"),
    ("POST", "/api/v1/gateway/authorize/"),
    ("POST", "/api/v1/gateway/usage/"),
]


@pytest.fixture(autouse=True)
def _today(freeze):
    freeze("2026-11-16 10:00 +01:00")


def docs(client) -> str:
    response = client.get(reverse("catalog:api_docs"))
    assert response.status_code == 200
    return content(response)


def test_docs_page_lives_at_its_fixed_address(client):
    assert reverse("catalog:api_docs") == "/documentation-api/"
    assert "<h1>Models &amp; Pricing</h1>" in docs(client)


def test_every_active_model_is_listed_with_slug_kind_and_current_prices(client):
    TextPriceFactory(
        model__slug="nouveau-texte",
        input_per_million=Decimal("42.5"),
        output_per_million=Decimal("85"),
    )
    ImagePriceFactory(model__slug="nouvelle-image", per_image=Decimal("3.25"))
    AIModel.objects.filter(slug="deepseek-v3").update(is_active=False)

    page = docs(client)

    listed = {
        slug: [
            text(cell) if i < 2 else price_now(cell) for i, cell in enumerate(row_cells(page, slug))
        ]
        for slug in AIModel.objects.filter(is_active=True).values_list("slug", flat=True)
    }
    assert listed["gpt-4.1"] == ["gpt-4.1 GPT-4.1", "text", "250 DZD", "1 000 DZD"]
    assert listed["claude-sonnet-4.5"][1:] == ["text", "750 DZD", "3 750 DZD"]
    assert listed["nouveau-texte"][1:] == ["text", "42,5 DZD", "85 DZD"]
    assert listed["stable-diffusion-3.5"] == [
        "stable-diffusion-3.5 Stable Diffusion 3.5",
        "image",
        "16 DZD",
    ]
    assert listed["nouvelle-image"][1:] == ["image", "3,25 DZD"]
    assert len(listed) == 9
    assert 'data-model="deepseek-v3"' not in page


def test_announced_changes_are_listed(client):
    ImagePriceFactory(
        model=AIModel.objects.get(slug="flux-schnell"),
        effective_at=datetime(2027, 2, 15, tzinfo=ALGIERS),
        per_image=Decimal("9.5"),
    )

    page = docs(client)

    price_cell = row_cells(page, "flux-schnell")[2]
    assert price_now(price_cell) == "8 DZD"
    assert announced(price_cell) == ["Annoncé à partir du 15 février 2027 : 9,5 DZD"]


def test_every_endpoint_is_documented_with_a_curl_example(client):
    page = docs(client)

    for method, path in ENDPOINTS:
        heading = (
            f'<span class="method method-{method.lower()}">{method}</span> <code>{path}</code>'
        )
        assert heading in page
        assert re.search(rf'curl (-X POST )?"?http://testserver{re.escape(path)}', text(page))


def test_curl_examples_use_real_model_slugs(client):
    page = docs(client)

    examples = text(block(page, r'<article class="endpoint" id="endpoint-estimate">'))
    assert "/api/v1/estimate/?model=gpt-4.1&input_tokens=500&output_tokens=1500" in examples
    assert "/api/v1/estimate/?model=flux-schnell&images=4" in examples


def test_docs_link_to_swagger_and_schema(client):
    page = docs(client)

    assert f'href="{reverse("api-docs")}"' in page
    assert f'href="{reverse("api-schema")}"' in page
    assert (reverse("api-docs"), reverse("api-schema")) == ("/api/docs/", "/api/schema/")


def test_formulas_and_cost_formula_are_listed(client):
    PlanFactory(slug="entreprise", name="Entreprise", included_credits=Decimal("10000.00"))
    Plan.objects.filter(slug="starter").update(monthly_fee=Decimal("450.00"))

    page = docs(client)

    plans = text(block(page, r'<section id="formules"'))
    assert "starter Starter 500 DZD 450 DZD" in plans
    assert "expert Expert 2 500 DZD 2 500 DZD" in plans
    assert "entreprise Entreprise 10 000 DZD 10 000 DZD" in plans
    cost = text(block(page, r'<section id="cout"'))
    assert (
        "coût = input_tokens × prix_input / 1 000 000 + output_tokens × prix_output / 1 000 000"
        in cost
    )
    assert "500 tokens en entrée et 1 500 en sortie = 0,125 + 1,5 = 1,625 DZD HT" in cost
    assert "TVA en sus (19 %)" in cost


def test_faq_links_to_the_docs_page(client):
    page = content(client.get(reverse("catalog:tarifs")))

    assert '<a href="/documentation-api/">Documentation API → Models &amp; Pricing</a>' in page
