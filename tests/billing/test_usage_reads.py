"""Usage reads (consommation page, chart, export, per-key budgets, GET /api/v1/usage/) come from
the daily rollups: rows are written here directly, with no usage event at all."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from billing.models import KeySpend
from billing.views.usage import csv_amount
from catalog.models import AIModel
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.factories import UsageDailyFactory
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db

URL = "/espace-client/consommation/"
EXPORT = "/espace-client/consommation/export.csv"


def model(slug):
    return AIModel.objects.get(slug=slug)


@pytest.fixture
def rollups(freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory(subscription__plan=PlanFactory(included_credits=Decimal("500")))
    production = ApiKeyFactory(account=account, name="Production", monthly_budget=Decimal("10"))
    staging = ApiKeyFactory(account=account, name="Recette")
    UsageDailyFactory(
        account=account,
        api_key=production,
        day=date(2026, 11, 3),
        events=3,
        credits=Decimal("1.005"),
    )
    UsageDailyFactory(
        account=account,
        api_key=staging,
        day=date(2026, 11, 3),
        events=2,
        credits=Decimal("1.005"),
    )
    UsageDailyFactory(
        account=account,
        api_key=production,
        model=model("flux-schnell"),
        day=date(2026, 11, 10),
        events=4,
        input_tokens=0,
        output_tokens=0,
        images=5,
        credits=Decimal("3"),
        prepaid=Decimal("2.5"),
        overage=Decimal("2.505"),
        written_off=Decimal("1"),
    )
    UsageDailyFactory(
        account=account, api_key=staging, day=date(2026, 10, 30), credits=Decimal("7")
    )
    UsageDailyFactory(day=date(2026, 11, 3), credits=Decimal("99"))  # another account's
    return account, production, staging


def no_event_read(queries):
    return [q["sql"] for q in queries if "billing_usageevent" in q["sql"]]


def test_the_page_reads_the_rollups_and_its_model_rows_add_up_to_the_total(client, rollups):
    account, *_ = rollups
    client.force_login(account.owner)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)

    assert response.status_code == 200
    assert no_event_read(queries) == []
    usage = response.context["usage"]
    per_model = {row["model"]: (row["calls"], row["cost"]) for row in usage.per_model}
    assert per_model == {
        "flux-schnell": (4, Decimal("9.005")),
        "gpt-4.1": (5, Decimal("2.010")),
    }
    # Rows are rounded to the centime, then totalled (as the invoice does): 9.01 + 2.01.
    assert usage.total_cost == Decimal("11.02")
    assert usage.totals["cost"] == Decimal("11.015")
    html = response.content.decode()
    table = html.split('id="usage-per-model"')[1].split("</table>")[0]
    assert '<td class="num" data-label="Coût (DZD)">9,01</td>' in table
    assert '<td class="num" data-label="Coût (DZD)">2,01</td>' in table
    assert '<td class="num" data-label="Coût (DZD)">11,02</td>' in table.split("<tfoot>")[1]
    assert "99,00" not in html


def test_the_chart_is_drawn_from_the_rollups(client, rollups):
    account, *_ = rollups
    client.force_login(account.owner)

    chart = client.get(URL).context["chart"]

    assert [(s.model, s.total) for s in chart.series] == [
        ("flux-schnell", Decimal("9.005")),
        ("gpt-4.1", Decimal("2.010")),
    ]
    assert len(chart.bars) == 2
    assert chart.maximum == Decimal("10")


def test_the_page_filters_by_range_model_and_key(client, rollups):
    account, _production, staging = rollups
    client.force_login(account.owner)

    by_range = client.get(URL, {"du": "2026-10-30", "au": "2026-11-03"})
    by_model = client.get(URL, {"modele": "flux-schnell"})
    by_key = client.get(URL, {"cle": staging.prefix})

    assert [(r["model"], r["cost"]) for r in by_range.context["usage"].per_model] == [
        ("gpt-4.1", Decimal("9.010"))
    ]
    assert [day.label for day in by_range.context["chart"].days] == ["30", "3"]
    assert "Du 30 octobre 2026 au 3 novembre 2026" in by_range.content.decode()
    assert [r["model"] for r in by_model.context["usage"].per_model] == ["flux-schnell"]
    assert [(r["prefix"], r["cost"]) for r in by_key.context["usage"].per_key] == [
        (staging.prefix, Decimal("1.005"))
    ]


def test_bad_filters_are_explained_and_the_month_is_shown(client, rollups):
    account, *_ = rollups
    client.force_login(account.owner)
    neighbour = ApiKeyFactory()

    backwards = client.get(URL, {"du": "2026-11-10", "au": "2026-11-01"})
    foreign_key = client.get(URL, {"cle": neighbour.prefix})

    assert "La date de fin doit suivre la date de début." in backwards.content.decode()
    assert backwards.context["usage"].total_cost == Decimal("11.02")
    assert foreign_key.context["usage"].total_cost == Decimal("11.02")
    assert "Clé API" in foreign_key.content.decode().split('role="alert"')[1]


def test_each_key_shows_what_it_charged_this_month_against_its_budget(client, rollups):
    """The spend is the key's KeySpend row, the one authorization enforces the budget on."""
    account, production, staging = rollups
    revoked = ApiKeyFactory(account=account, name="Ancienne")
    revoked.revoked_at = revoked.created_at
    revoked.save()
    retired = ApiKeyFactory(account=account, name="Retirée")
    retired.revoked_at = retired.created_at
    retired.save()
    # credits 1.005 + 3, prepaid 2.5, overage 2.505; the written-off 1 is not charged.
    KeySpend.objects.create(api_key=production, month=date(2026, 11, 1), charged=Decimal("9.010"))
    KeySpend.objects.create(api_key=retired, month=date(2026, 11, 1), charged=Decimal("2"))
    KeySpend.objects.create(api_key=staging, month=date(2026, 10, 1), charged=Decimal("7"))
    client.force_login(account.owner)

    response = client.get(URL)

    budgets = {b.api_key.prefix: b for b in response.context["budgets"]}
    # revoked and idle: hidden; revoked but charged this month: shown.
    assert set(budgets) == {production.prefix, staging.prefix, retired.prefix}
    assert budgets[staging.prefix].spent == 0  # October's spend is not November's
    assert budgets[retired.prefix].spent == Decimal("2")
    assert budgets[production.prefix].spent == Decimal("9.010")
    assert budgets[production.prefix].remaining == Decimal("0.990")
    assert budgets[production.prefix].percent == 90
    assert budgets[staging.prefix].budget is None
    html = response.content.decode().split('id="key-budgets"')[1]
    assert "9,01" in html
    assert "10,00" in html
    assert "90&nbsp;%" in html
    assert "sans budget" in html


def read_csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


def test_the_export_is_a_french_csv_one_row_per_day_model_and_key(client, rollups):
    account, production, staging = rollups
    client.force_login(account.owner)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(EXPORT)
        lines = read_csv(response)

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="consommation-20261101-20261130.csv"' in response["Content-Disposition"]
    assert no_event_read(queries) == []
    assert lines[0] == [
        "Jour",
        "Modèle",
        "Clé API",
        "Nom de la clé",
        "Appels",
        "Tokens entrée",
        "Tokens sortie",
        "Images",
        "Coût (DZD HT)",
        "Sur les crédits (DZD)",
        "Sur le solde prépayé (DZD)",
        "Dépassement (DZD)",
        "Non facturé (DZD)",
    ]
    first, second = sorted([production.prefix, staging.prefix])
    assert [line[:3] for line in lines[1:]] == [
        ["2026-11-03", "gpt-4.1", first],
        ["2026-11-03", "gpt-4.1", second],
        ["2026-11-10", "flux-schnell", production.prefix],
    ]
    by_key = {(line[0], line[2]): line[3:] for line in lines[1:]}
    assert by_key["2026-11-03", staging.prefix] == [
        *("Recette", "2", "500", "1500", "0"),
        *("1,005", "1,005", "0,00", "0,00", "0,00"),
    ]
    assert by_key["2026-11-10", production.prefix] == [
        *("Production", "4", "0", "0", "5"),
        *("9,005", "3,00", "2,50", "2,505", "1,00"),
    ]


def test_the_export_takes_the_pages_filters(client, rollups):
    account, _production, staging = rollups
    client.force_login(account.owner)

    lines = read_csv(
        client.get(EXPORT, {"du": "2026-10-01", "au": "2026-11-05", "cle": staging.prefix})
    )

    assert [(line[0], line[2], line[8]) for line in lines[1:]] == [
        ("2026-10-30", staging.prefix, "7,00"),
        ("2026-11-03", staging.prefix, "1,005"),
    ]


def test_the_export_is_streamed_in_chunks(client, freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory()
    keys = [ApiKeyFactory(account=account, name=f"clé {i}") for i in range(40)]
    for day in range(1, 31):
        for key in keys:
            UsageDailyFactory(account=account, api_key=key, day=date(2026, 11, day))
    client.force_login(account.owner)

    response = client.get(EXPORT)
    chunks = list(response.streaming_content)

    assert len(chunks) == 1 + 3  # header, then 1 200 rows by 500
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == 1 + 1200


def test_the_export_needs_a_login(client):
    assert client.get(EXPORT).status_code == 302


def test_the_api_reads_the_rollups_with_its_filters(client, rollups):
    _account, production, staging = rollups

    def get(**params):
        return client.get(
            "/api/v1/usage/", params, HTTP_AUTHORIZATION=f"Bearer {production.raw}"
        ).json()["results"]

    with CaptureQueriesContext(connection) as queries:
        default = get()

    assert no_event_read(queries) == []
    assert [(r["date"], r["model"], r["calls"], r["cost"]) for r in default] == [
        ("2026-11-03", "gpt-4.1", 5, "2.01"),
        ("2026-11-10", "flux-schnell", 4, "9.005"),
    ]
    assert default[1]["overage"] == "2.505"
    assert default[1]["written_off"] == "1.00"
    assert [r["cost"] for r in get(**{"from": "2026-10-01", "key": staging.prefix})] == [
        "7.00",
        "1.005",
    ]
    assert [r["date"] for r in get(model="flux-schnell")] == ["2026-11-10"]


@given(
    st.decimals(
        min_value=0, max_value=Decimal("1e17"), places=10, allow_nan=False, allow_infinity=False
    )
)
def test_export_amounts_are_exact_with_a_decimal_comma(value):
    text = csv_amount(value)

    assert "." not in text
    assert " " not in text
    assert len(text.split(",")[1]) >= 2
    assert Decimal(text.replace(",", ".")) == value
