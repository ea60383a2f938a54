from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey
from billing.metering import usage_record_batch
from billing.models import PlanChange
from catalog.models import Plan
from tests.accounts.factories import AccountFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOW = "2026-11-16 10:00 +01:00"


def at(day, month=11):
    return datetime(2026, month, day, 12, tzinfo=ALGIERS).isoformat()


def as_customer(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
    return client


def text(key, idem, occurred_at, model="gpt-4.1", input_tokens=500, output_tokens=1500):
    return {
        "idempotency_key": idem,
        "api_key": key.raw,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "occurred_at": occurred_at,
    }


@pytest.fixture
def starter_key(freeze):
    freeze(NOW)
    account = AccountFactory(
        subscription__plan=Plan.objects.get(slug="starter"),
        subscription__started_at=datetime(2026, 10, 1, tzinfo=ALGIERS),  # a customer since October
    )
    return ApiKeyFactory(account=account, name="Production")


def test_account_shows_the_current_period(starter_key):
    usage_record_batch(events=[text(starter_key, "a", at(2))])

    response = as_customer(starter_key).get("/api/v1/account/")

    assert response.status_code == 200
    assert response.json() == {
        "plan": "starter",
        "pay_as_you_go": False,
        "period": "2026-11",
        "credits": {"included": "500.00", "consumed": "1.625", "remaining": "498.375"},
        "overage": "0.00",
        "written_off": "0.00",
        "scheduled_plan": None,
        "payg_cap": None,
        "payg_cap_remaining": None,
        "prepaid_balance": "0.00",
        "prepaid_used": "0.00",
        "bill_so_far": {
            "lines": [
                {
                    "kind": "fee",
                    "description": "Formule Starter — 1er au 30 novembre 2026 (30 jours)",
                    "amount": "500.00",
                    "days": 30,
                    "input_tokens": None,
                    "output_tokens": None,
                    "images": None,
                    "unit": "",
                    "unit_price": None,
                    "quantity": None,
                }
            ],
            "ht": "500.00",
            "tva_rate": "19.00",
            "tva": "95.00",
            "ttc": "595.00",
        },
    }


def test_account_with_payg_overage_and_a_scheduled_downgrade(freeze):
    freeze(NOW)
    account = AccountFactory(subscription__plan=None, subscription__pay_as_you_go=True)
    key = ApiKeyFactory(account=account)
    usage_record_batch(events=[text(key, "a", at(2))])
    PlanChange.objects.create(
        account=account,
        from_plan=None,
        to_plan=None,
        kind=PlanChange.Kind.DOWNGRADE,
        status=PlanChange.Status.SCHEDULED,
        requested_at=datetime(2026, 11, 10, tzinfo=ALGIERS),
        effective_at=datetime(2026, 12, 1, tzinfo=ALGIERS),
    )

    body = as_customer(key).get("/api/v1/account/").json()

    assert body["plan"] is None
    assert body["pay_as_you_go"] is True
    assert body["credits"] == {"included": "0.00", "consumed": "0.00", "remaining": "0.00"}
    assert body["overage"] == "1.625"
    assert body["scheduled_plan"] == {"plan": None, "effective_at": "2026-12-01T00:00:00+01:00"}


@pytest.mark.parametrize(
    "header", [None, "Bearer iaf_inconnue", "Bearer iafgw_passerelle", "Basic abc"]
)
def test_account_and_usage_need_a_valid_customer_key(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    for path in ("/api/v1/account/", "/api/v1/usage/"):
        assert client.get(path).status_code == 401


def test_a_revoked_key_cannot_read_the_account(starter_key):
    ApiKey.objects.filter(pk=starter_key.pk).update(
        revoked_at=datetime(2026, 11, 1, tzinfo=ALGIERS)
    )

    response = as_customer(starter_key).get("/api/v1/account/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Clé API révoquée."}


@pytest.fixture
def usage(starter_key):
    staging = ApiKeyFactory(account=starter_key.account, name="Recette")
    neighbour = ApiKeyFactory()
    usage_record_batch(
        events=[
            text(starter_key, "a", at(2)),
            text(starter_key, "b", at(2)),
            text(staging, "c", at(2), model="deepseek-v3", input_tokens=1000, output_tokens=0),
            text(starter_key, "d", at(9)),
            text(starter_key, "e", at(28, month=10)),
            # 23:30 on the 9th in Algiers is still the 9th, though 22:30 UTC.
            text(staging, "f", "2026-11-09T22:30:00Z"),
            text(neighbour, "g", at(2)),
        ]
    )
    return starter_key, staging, neighbour


def rows(response):
    assert response.status_code == 200
    return [(r["date"], r["model"], r["calls"], r["cost"]) for r in response.json()["results"]]


def test_usage_per_day_and_model_of_the_current_month_by_default(usage):
    key, *_ = usage

    response = as_customer(key).get("/api/v1/usage/")

    assert response.json()["from"] == "2026-11-01"
    assert response.json()["to"] == "2026-11-16"
    assert rows(response) == [
        ("2026-11-02", "deepseek-v3", 1, "0.07"),
        ("2026-11-02", "gpt-4.1", 2, "3.25"),
        ("2026-11-09", "gpt-4.1", 2, "3.25"),
    ]
    first = response.json()["results"][1]
    assert first == {
        "date": "2026-11-02",
        "model": "gpt-4.1",
        "calls": 2,
        "input_tokens": 1000,
        "output_tokens": 3000,
        "images": 0,
        "cost": "3.25",
        "credits": "3.25",
        "overage": "0.00",
        "written_off": "0.00",
    }


def test_usage_filters(usage):
    key, staging, _ = usage
    client = as_customer(key)

    by_range = client.get("/api/v1/usage/", {"from": "2026-10-01", "to": "2026-11-01"})
    by_model = client.get("/api/v1/usage/", {"model": "deepseek-v3"})
    by_key = client.get("/api/v1/usage/", {"key": staging.prefix})

    assert rows(by_range) == [("2026-10-28", "gpt-4.1", 1, "1.625")]
    assert rows(by_model) == [("2026-11-02", "deepseek-v3", 1, "0.07")]
    assert rows(by_key) == [
        ("2026-11-02", "deepseek-v3", 1, "0.07"),
        ("2026-11-09", "gpt-4.1", 1, "1.625"),
    ]


def test_another_accounts_usage_is_never_visible(usage):
    key, _, neighbour = usage

    mine = as_customer(key).get("/api/v1/usage/", {"from": "2026-11-02", "to": "2026-11-02"})
    theirs = as_customer(neighbour).get("/api/v1/usage/")
    probing = as_customer(neighbour).get("/api/v1/usage/", {"key": key.prefix})

    assert ("2026-11-02", "gpt-4.1", 2, "3.25") in rows(mine)
    assert rows(theirs) == [("2026-11-02", "gpt-4.1", 1, "1.625")]
    assert probing.status_code == 400


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "hier"}, "« from » doit être une date AAAA-MM-JJ."),
        ({"to": "2026-13-01"}, "« to » doit être une date AAAA-MM-JJ."),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "« to » doit être postérieur"),
        ({"from": "2024-01-01", "to": "2026-11-01"}, "Période trop longue"),
        ({"model": "gpt-99"}, "Modèle inconnu : « gpt-99 »."),
        ({"key": "iaf_nope"}, "Aucune clé de ce compte"),
    ],
)
def test_bad_usage_filters_are_400(usage, params, message):
    key, *_ = usage

    response = as_customer(key).get("/api/v1/usage/", params)

    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.parametrize("query", ["from=9999-12-31&to=9999-12-31", "from=0001-01-01"])
def test_far_out_dates_are_a_clear_400(client, query):
    key = ApiKeyFactory()

    response = client.get(f"/api/v1/usage/?{query}", HTTP_AUTHORIZATION=f"Bearer {key.raw}")

    assert response.status_code == 400


def test_reading_the_account_marks_the_key_used_at_most_once_a_minute(freeze):
    freeze("2026-11-16 10:00 +01:00")
    key = ApiKeyFactory()
    client = as_customer(key)

    assert client.get("/api/v1/account/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == datetime(2026, 11, 16, 10, tzinfo=ALGIERS)

    freeze(datetime(2026, 11, 16, 10, 0, 30, tzinfo=ALGIERS))
    client.get("/api/v1/account/")
    key.refresh_from_db()
    assert key.last_used_at == datetime(2026, 11, 16, 10, tzinfo=ALGIERS)  # within the minute

    freeze(datetime(2026, 11, 16, 10, 1, 5, tzinfo=ALGIERS))
    client.get("/api/v1/account/")
    key.refresh_from_db()
    assert key.last_used_at == datetime(2026, 11, 16, 10, 1, 5, tzinfo=ALGIERS)
