from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.metering import usage_record_batch
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
URL = "/espace-client/consommation/"


def at(day, month=11):
    return datetime(2026, month, day, 12, tzinfo=ALGIERS).isoformat()


@pytest.fixture
def mine(freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory(subscription__plan=PlanFactory(included_credits=Decimal("500")))
    production = ApiKeyFactory(account=account, name="Production")
    staging = ApiKeyFactory(account=account, name="Recette")
    usage_record_batch(
        events=[
            {
                "idempotency_key": "a",
                "api_key": production.raw,
                "model": "gpt-4.1",
                "input_tokens": 500,
                "output_tokens": 1500,
                "occurred_at": at(3),
            },
            {
                "idempotency_key": "b",
                "api_key": production.raw,
                "model": "flux-schnell",
                "images": 3,
                "occurred_at": at(3),
            },
            {
                "idempotency_key": "c",
                "api_key": staging.raw,
                "model": "flux-schnell",
                "images": 1,
                "occurred_at": at(10),
            },
            {
                "idempotency_key": "d",
                "api_key": staging.raw,
                "model": "gpt-4.1",
                "input_tokens": 1000,
                "output_tokens": 0,
                "occurred_at": at(20, month=10),
            },
        ]
    )
    return account, production, staging


@pytest.fixture
def others():
    other = ApiKeyFactory(name="Clé voisine")
    usage_record_batch(
        events=[
            {
                "idempotency_key": "x",
                "api_key": other.raw,
                "model": "claude-sonnet-4.5",
                "input_tokens": 1000,
                "output_tokens": 1000,
                "occurred_at": at(4),
            }
        ]
    )
    return other


def test_the_page_needs_a_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/comptes/" in response["Location"]


def test_this_months_usage_per_model_and_per_key(client, mine, others):
    account, production, staging = mine
    client.force_login(account.owner)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["active"] == "usage"
    per_model = {row["model"]: row for row in response.context["usage"].per_model}
    assert set(per_model) == {"gpt-4.1", "flux-schnell"}
    assert (per_model["flux-schnell"]["calls"], per_model["flux-schnell"]["images"]) == (2, 4)
    assert per_model["flux-schnell"]["cost"] == Decimal("32")
    assert per_model["gpt-4.1"]["cost"] == Decimal("1.625")
    per_key = {row["prefix"]: row["cost"] for row in response.context["usage"].per_key}
    assert per_key == {production.prefix: Decimal("25.625"), staging.prefix: Decimal("8")}
    assert "33,63" in html  # total 33.625 DZD, shown to the centime
    assert "claude-sonnet-4.5" not in html.split('id="usage-month"')[1]  # (a filter choice)
    assert others.prefix not in html
    assert "Clé voisine" not in html


def test_the_chart_is_inline_svg_with_a_title_and_one_bar_per_day_and_model(client, mine):
    account, *_ = mine
    client.force_login(account.owner)

    response = client.get(URL)

    chart = response.context["chart"]
    assert [(s.model, s.total) for s in chart.series] == [
        ("flux-schnell", Decimal("32")),
        ("gpt-4.1", Decimal("1.625")),
    ]
    assert len(chart.bars) == 3  # the 3rd: both models stacked; the 10th: flux-schnell
    assert chart.maximum == Decimal("50")
    html = response.content.decode()
    assert '<svg viewBox="0 0 720 260"' in html
    assert (
        '<title id="usage-chart-title">Coût par jour et par modèle, novembre 2026</title>' in html
    )
    assert "<script" not in html.split('id="usage-month"')[1]


def test_another_month_is_chosen_with_the_selector(client, mine):
    account, *_ = mine
    client.force_login(account.owner)

    response = client.get(URL, {"mois": "2026-10"})

    assert [row["model"] for row in response.context["usage"].per_model] == ["gpt-4.1"]
    assert response.context["usage"].totals["cost"] == Decimal("0.25")
    assert '<option value="2026-10" selected>' in response.content.decode()


def test_a_bad_month_falls_back_to_the_current_one(client, mine):
    account, *_ = mine
    client.force_login(account.owner)

    response = client.get(URL, {"mois": "novembre"})

    assert str(response.context["month"]) == "2026-11"


def test_htmx_gets_the_partial_only(client, mine):
    account, *_ = mine
    client.force_login(account.owner)

    response = client.get(URL, {"mois": "2026-10"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="usage-month"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_a_month_without_usage_says_so(client, freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory()
    client.force_login(account.owner)

    response = client.get(URL)

    html = response.content.decode()
    assert "Aucune consommation à afficher pour ce mois." in html
    assert "Aucun appel ce mois-ci." in html


def test_the_usage_page_refuses_a_far_out_month_without_crashing(client):
    account = AccountFactory()
    client.force_login(account.owner)

    response = client.get("/espace-client/consommation/?mois=9999-12")

    assert response.status_code in {200, 400}
