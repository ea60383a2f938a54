"""Hostile usage events: each is refused alone, with a French message, before anything the
database or a helper could refuse; the batch's other events are still charged, and no month
can grow beyond what its invoice can hold."""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.metering import MAX_EVENT_COST, MAX_PERIOD_USAGE, charge, usage_record_batch
from billing.models import BillingPeriod, Invoice, UsageEvent
from billing.periods import Month
from billing.services.close import period_close
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.conftest import good
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOW = "2026-11-16 10:00 +01:00"
USAGE = "/api/v1/gateway/usage/"
AUTHORIZE = "/api/v1/gateway/authorize/"


@pytest.fixture
def key():
    plan = PlanFactory(included_credits=Decimal("100"))
    return ApiKeyFactory(account=AccountFactory(subscription__plan=plan))


def post_raw(client, url, body: str | bytes):
    """json.dumps escapes a lone surrogate as \\ud800: what a hostile gateway sends."""
    return client.generic("POST", url, body, content_type="application/json")


HOSTILE = [
    # offsets PostgreSQL refuses, and instants outside what billing or datetime can hold
    ("offset +16:00", {"occurred_at": "2026-11-16T08:00:00+16:00"}, "décalage horaire"),
    ("offset -16:00", {"occurred_at": "2026-11-15T08:00:00-16:00"}, "décalage horaire"),
    ("offset +23:59", {"occurred_at": "2026-11-16T08:00:00+23:59"}, "décalage horaire"),
    ("1999 in Algiers", {"occurred_at": "1999-12-31T12:00:00Z"}, "1er janvier 2000"),
    ("year 1", {"occurred_at": "0001-01-01T00:00:00Z"}, "1er janvier 2000"),
    ("year 1 east of UTC", {"occurred_at": "0001-01-01T00:00:00+01:00"}, "plage des dates"),
    ("year 9999 west of UTC", {"occurred_at": "9999-12-31T23:59:59-15:00"}, "plage des dates"),
    ("date 10 KB long", {"occurred_at": "2026-11-16T09:00:00Z" + " " * 10_000}, "ISO 8601"),
    ("date as an object", {"occurred_at": {"iso": "2026-11-16"}}, "ISO 8601"),
    ("date with a control char", {"occurred_at": "2026-11-16T09:00:00\x07Z"}, "ISO 8601"),
    # lone surrogates, in every text field
    ("surrogate in the api key", {"api_key": "iaf_\ud800"}, "« api_key » contient un caractère"),
    ("surrogate in the model", {"model": "gpt\ud800"}, "« model » contient un caractère"),
    ("surrogate in the date", {"occurred_at": "2026-11-16T09:00\udfff"}, "ISO 8601"),
    (
        "surrogate in the idempotency key",
        {"idempotency_key": "k\ud800"},
        "« idempotency_key » contient un caractère Unicode invalide",
    ),
    # idempotency keys and names the columns cannot hold, or that name nothing
    (
        "blank idempotency key",
        {"idempotency_key": "  \u00a0\u2003 "},
        "« idempotency_key » ne contient",
    ),
    ("control char in the key", {"idempotency_key": "a\x1bb"}, "caractère de contrôle"),
    ("control char in the model", {"model": "gpt-4.1\n"}, "« model » contient un caractère"),
    ("model 10 KB long", {"model": "g" * 10_000}, "« model » dépasse 60 caractères"),
    ("api key 10 KB long", {"api_key": "iaf_" + "x" * 10_000}, "« api_key » dépasse 200"),
    ("api key as a list", {"api_key": ["iaf_x"]}, "« api_key » doit être une chaîne"),
    ("idempotency key as an object", {"idempotency_key": {}}, "« idempotency_key » doit"),
    # counts: only non-negative integers (ASCII digits) up to the maximum
    ("Arabic-Indic digits", {"input_tokens": "٥٠٠"}, "« input_tokens » doit être un nombre"),
    ("fullwidth digits", {"output_tokens": "１５００"}, "« output_tokens » doit être un nombre"),
    ("true as a count", {"input_tokens": True}, "doit être un nombre entier"),
    ("1.0 as a count", {"input_tokens": 1.0}, "doit être un nombre entier"),
    ("1e3 as a count", {"output_tokens": 1e3}, "doit être un nombre entier"),
    ("count beyond bigint", {"input_tokens": 2**63}, "dépasse le maximum"),
    ("count of 400 digits", {"input_tokens": 10**400}, "dépasse le maximum"),
    ("count string of 400 digits", {"input_tokens": "9" * 400}, "doit être un nombre entier"),
    ("count as a list", {"output_tokens": [1]}, "doit être un nombre entier"),
    ("count as an object", {"output_tokens": {"n": 1}}, "doit être un nombre entier"),
    ("usage of nothing", {"input_tokens": 0, "output_tokens": "0"}, "au moins une quantité"),
]


@pytest.mark.parametrize(
    ("extra", "message"),
    [pytest.param(extra, message, id=name) for name, extra, message in HOSTILE],
)
def test_a_hostile_field_is_rejected_alone_and_its_batch_is_charged(
    gateway, key, freeze, extra, message
):
    freeze(NOW)
    events = [good(key, idem="avant"), good(key, idem="hostile", **extra), good(key)]

    response = post_raw(gateway, USAGE, json.dumps({"events": events}))

    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert message in body["results"][1]["error"]
    assert UsageEvent.objects.count() == 2
    period = BillingPeriod.objects.get(account=key.account)
    assert period.consumed == Decimal("3.25")  # 2 × 1.625


@pytest.mark.parametrize(
    "event",
    [None, [], 12, "texte", True, [good.__name__]],
    ids=["null", "list", "number", "string", "bool", "list of strings"],
)
def test_an_event_that_is_not_an_object_is_rejected_alone(gateway, key, freeze, event):
    freeze(NOW)

    response = post_raw(gateway, USAGE, json.dumps({"events": [event, good(key)]}))

    body = response.json()
    assert body["results"][0] == {
        "idempotency_key": None,
        "status": "rejected",
        "error": "Un événement doit être un objet JSON.",
    }
    assert body["results"][1]["cost"] == "1.625"


def test_an_image_model_refuses_zero_images_like_the_estimate(gateway, key, freeze):
    freeze(NOW)
    event = {"idempotency_key": "i", "api_key": key.raw, "model": "flux-schnell", "images": 0}

    response = post_raw(gateway, USAGE, json.dumps({"events": [event]}))

    assert response.json()["results"][0]["error"] == "Indiquez au moins une image (« images »)."


def test_a_surrogate_idempotency_key_is_not_echoed(gateway, key, freeze):
    freeze(NOW)

    response = post_raw(gateway, USAGE, json.dumps({"events": [good(key, idem="\ud800")]}))

    assert response.json()["results"][0]["idempotency_key"] is None


def test_an_offset_of_15_59_is_the_widest_accepted_and_stored_as_its_instant(gateway, key, freeze):
    freeze(NOW)

    response = post_raw(
        gateway, USAGE, json.dumps({"events": [good(key, occurred_at="2026-11-17T00:58:00+15:59")]})
    )

    assert response.json()["accepted"] == 1
    event = UsageEvent.objects.get()
    assert event.occurred_at == datetime(2026, 11, 16, 9, 59, tzinfo=ALGIERS)


@pytest.mark.parametrize("depth", [950, 5000])
@pytest.mark.parametrize("url", [USAGE, AUTHORIZE])
def test_a_body_nested_too_deep_is_a_400_in_french(gateway, depth, url):
    body = '{"events": ' + "[" * depth + "]" * depth + "}"

    response = post_raw(gateway, url, body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Corps de requête invalide")


def test_events_nested_deep_inside_fields_are_rejected_alone(gateway, key, freeze):
    freeze(NOW)
    nested = "[" * 200 + "]" * 200
    body = (
        (
            '{"events": [{"idempotency_key": "n", "api_key": '
            + nested
            + ', "model": '
            + nested
            + "}, "
        )
        + json.dumps(good(key))
        + "]}"
    )

    response = post_raw(gateway, USAGE, body)

    assert [r["status"] for r in response.json()["results"]] == ["rejected", "accepted"]


@pytest.mark.parametrize(
    "raw_key",
    ["iaf_\ud800", "iaf_\x00", "iaf_" + "x" * 10_000, "iaf_\x1b"],
    ids=["surrogate", "nul", "10 KB", "control char"],
)
def test_authorize_refuses_a_key_that_cannot_be_looked_up_with_a_400(gateway, raw_key):
    response = post_raw(gateway, AUTHORIZE, json.dumps({"api_key": raw_key}))

    assert response.status_code == 400
    assert response.json() == {"detail": "« api_key » invalide : caractère interdit ou trop long."}


def test_a_non_utf8_body_is_a_400(gateway):
    response = post_raw(gateway, USAGE, b'{"events": ["\xff\xfe"]}')

    assert response.status_code == 400


# --- what one event, and one month, may cost -------------------------------------------------


def test_an_event_costing_more_than_the_maximum_is_rejected_alone(key, freeze):
    freeze(NOW)
    # flux-schnell at 8 DZD an image: 125 000 images cost exactly the maximum, one more is over.
    at_max = {"idempotency_key": "max", "api_key": key.raw, "model": "flux-schnell"}

    batch = usage_record_batch(
        events=[
            {**at_max, "images": 125_000},
            {**at_max, "idempotency_key": "+1", "images": 125_001},
        ]
    )

    assert [r.status for r in batch.results] == ["accepted", "rejected"]
    assert batch.results[0].cost == MAX_EVENT_COST == Decimal(1_000_000)
    assert batch.results[1].error == (
        "Coût de l'événement hors limites : 1000008 DZD, au plus 1000000 DZD par événement."
    )


def test_an_event_that_would_push_its_month_past_the_maximum_is_rejected_alone(
    key, freeze, monkeypatch
):
    freeze(NOW)
    monkeypatch.setattr(charge, "MAX_PERIOD_USAGE", Decimal("5"))
    events = [good(key, idem=str(n)) for n in range(4)]  # 1.625 each: 3 fit in 5.00

    first = usage_record_batch(events=events[:2])
    second = usage_record_batch(
        events=[*events[2:], good(key, idem="small", input_tokens=200, output_tokens=0)]
    )

    assert [r.status for r in first.results] == ["accepted", "accepted"]
    assert [r.status for r in second.results] == ["accepted", "rejected", "accepted"]
    assert second.results[1].error == (
        "Plafond mensuel atteint : les événements du mois 2026-11 coûteraient plus de 5 DZD ; "
        "cet événement est refusé."
    )
    period = BillingPeriod.objects.get(account=key.account)
    # 3 × 1.625 + 200 × 250 / 1e6 = 4.875 + 0.05
    assert period.consumed + period.overage + period.written_off == Decimal("4.925")


def test_a_replay_at_the_monthly_maximum_is_still_a_duplicate(key, freeze, monkeypatch):
    freeze(NOW)
    monkeypatch.setattr(charge, "MAX_PERIOD_USAGE", Decimal("1.625"))
    usage_record_batch(events=[good(key)])

    replay = usage_record_batch(events=[good(key)])

    assert (replay.results[0].status, replay.results[0].cost) == ("duplicate", Decimal("1.625"))


def test_the_issue_sample_is_refused_and_the_month_still_closes(gateway, freeze):
    # No formula, pay-as-you-go on, claude-sonnet-4.5 events of 10¹⁰ + 10¹⁰ tokens: 45 000 000
    # DZD each (750 and 3 750 DZD per million), 23 000 of them would overflow the invoice.
    freeze("2026-11-20 10:00 +01:00")
    key = ApiKeyFactory(
        account=AccountFactory(subscription__plan=None, subscription__pay_as_you_go=True)
    )
    huge = {"api_key": key.raw, "model": "claude-sonnet-4.5"}
    huge |= {"input_tokens": 10**10, "output_tokens": 10**10}
    batch = [{**huge, "idempotency_key": f"h{n}"} for n in range(1000)]

    response = post_raw(gateway, USAGE, json.dumps({"events": batch}))
    freeze("2026-12-01 00:05 +01:00")
    period_close(month=Month(2026, 11))

    assert response.json()["rejected"] == 1000
    assert "45000000 DZD" in response.json()["results"][0]["error"]
    assert not UsageEvent.objects.exists()
    assert BillingPeriod.objects.get(account=key.account, month="2026-11-01").status == "closed"
    assert not Invoice.objects.exists()


def test_a_month_filled_to_its_maximum_is_invoiced_within_the_columns(freeze):
    # 10 000 events of the maximum cost fill the month; the next one is refused; the close
    # issues the invoice: 10¹⁰ HT, 19 % TVA.
    freeze("2026-11-20 10:00 +01:00")
    key = ApiKeyFactory(
        account=AccountFactory(subscription__plan=None, subscription__pay_as_you_go=True)
    )
    event = {"api_key": key.raw, "model": "flux-schnell", "images": 125_000}
    for chunk in range(10):
        batch = usage_record_batch(
            events=[{**event, "idempotency_key": f"{chunk}-{n}"} for n in range(1000)]
        )
        assert batch.accepted == 1000
    one_more = usage_record_batch(events=[{**event, "idempotency_key": "+1", "images": 1}])
    freeze("2026-12-01 00:05 +01:00")

    period_close(month=Month(2026, 11))

    assert one_more.results[0].error.startswith("Plafond mensuel atteint")
    period = BillingPeriod.objects.get(account=key.account, month="2026-11-01")
    assert period.overage == MAX_PERIOD_USAGE == Decimal(10_000_000_000)
    invoice = Invoice.objects.get(account=key.account)
    assert (invoice.total_ht, invoice.tva_amount, invoice.total_ttc) == (
        Decimal("10000000000.00"),
        Decimal("1900000000.00"),
        Decimal("11900000000.00"),
    )
    assert invoice.lines.get().images == 1_250_000_000
