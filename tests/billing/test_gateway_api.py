import json
from datetime import datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.gateway import gateway_token_create, gateway_token_revoke
from accounts.keys import hash_secret
from accounts.models import ApiKey, GatewayToken, User
from billing.models import BillingPeriod, UsageEvent
from catalog.models import Plan
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


def post_events(client, events):
    return client.post(USAGE, {"events": events}, format="json")


def test_create_gateway_token_prints_the_token_alone_on_its_last_line():
    out = StringIO()

    call_command("create_gateway_token", "passerelle-prod", stdout=out)

    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("iafgw_")
    token = GatewayToken.objects.get(name="passerelle-prod")
    assert token.token_hash == hash_secret(raw)
    assert raw not in (token.prefix, token.token_hash)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer iafgw_faux", "Token abc", "Bearer", "Bearer a b"],
)
def test_the_gateway_endpoints_need_a_valid_token(key, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    usage = post_events(client, [good(key)])
    authorize = client.post(AUTHORIZE, {"api_key": key.raw}, format="json")

    assert usage.status_code == 401
    assert authorize.status_code == 401
    assert UsageEvent.objects.count() == 0


def test_a_revoked_token_is_refused_at_once(key):
    token, raw = gateway_token_create(name="ancienne")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    gateway_token_revoke(token=token)

    response = post_events(client, [good(key)])

    assert response.status_code == 401


def test_a_customer_key_is_not_a_gateway_token(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")

    response = post_events(client, [good(key)])

    assert response.status_code == 401


def test_an_accepted_event_answers_its_cost(gateway, key, freeze):
    freeze(NOW)

    response = post_events(gateway, [good(key)])

    assert response.status_code == 200
    assert response.json() == {
        "results": [{"idempotency_key": "ok", "status": "accepted", "cost": "1.625"}],
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
    }
    event = UsageEvent.objects.get()
    assert event.occurred_at == datetime(2026, 11, 16, 10, tzinfo=ALGIERS)


def test_more_than_1000_events_is_413(gateway, key):
    events = [good(key, idem=f"e{n}") for n in range(1001)]

    response = post_events(gateway, events)

    assert response.status_code == 413
    assert response.json() == {"detail": "Au plus 1000 événements par requête (1001 reçus)."}
    assert UsageEvent.objects.count() == 0


def test_1000_events_are_fine(gateway, key, freeze):
    freeze(NOW)
    events = [good(key, idem=f"e{n}") for n in range(1000)]

    response = post_events(gateway, events)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1000
    period = BillingPeriod.objects.get(account=key.account)
    assert period.consumed == Decimal("100")
    assert period.written_off == Decimal("1525")  # 1000 × 1.625 − 100


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{pas du json", "application/json"),
        ("[]", "application/json"),
        ('{"events": {"a": 1}}', "application/json"),
        ('{"evenements": []}', "application/json"),
        ('"events"', "application/json"),
        ("null", "application/json"),
    ],
)
def test_a_malformed_body_is_400_with_a_message(gateway, body, content_type):
    response = gateway.generic("POST", USAGE, body, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_empty_batch_is_fine(gateway):
    response = post_events(gateway, [])

    assert response.json() == {"results": [], "accepted": 0, "duplicates": 0, "rejected": 0}


BAD_EVENTS = [
    ("not an object", lambda k: "texte", "Un événement doit être un objet JSON."),
    ("no idempotency key", lambda k: good(k, idempotency_key=None), "« idempotency_key » est"),
    ("numeric idempotency key", lambda k: good(k, idempotency_key=12), "« idempotency_key » doit"),
    ("idempotency key too long", lambda k: good(k, idempotency_key="x" * 201), "dépasse 200"),
    ("no api key", lambda k: good(k, api_key=None), "« api_key » est obligatoire."),
    ("unknown api key", lambda k: good(k, api_key="iaf_inconnue"), "Clé API inconnue."),
    ("no model", lambda k: good(k, model=None), "« model » est obligatoire."),
    ("unknown model", lambda k: good(k, model="gpt-99"), "Modèle inconnu : « gpt-99 »."),
    ("model not a string", lambda k: good(k, model=["gpt-4.1"]), "« model » doit"),
    ("NUL byte in the model", lambda k: good(k, model="gpt\x00-4.1"), "caractère nul"),
    ("NUL byte in the key", lambda k: good(k, idempotency_key="a\x00b"), "caractère nul"),
    ("negative tokens", lambda k: good(k, input_tokens=-1), "ne peut pas être négatif"),
    ("float tokens", lambda k: good(k, output_tokens=1.5), "doit être un nombre entier"),
    ("string tokens", lambda k: good(k, output_tokens="mille"), "doit être un nombre entier"),
    ("boolean tokens", lambda k: good(k, output_tokens=True), "doit être un nombre entier"),
    ("huge tokens", lambda k: good(k, output_tokens=10**30), "dépasse le maximum"),
    ("missing output tokens", lambda k: good(k, output_tokens=None), "« output_tokens » est"),
    ("images on a text model", lambda k: good(k, images=2), "modèle texte"),
    (
        "tokens on an image model",
        lambda k: good(k, model="flux-schnell", input_tokens=10, output_tokens=0, images=1),
        "modèle image",
    ),
    (
        "no images on an image model",
        lambda k: good(k, model="flux-schnell", input_tokens=None, output_tokens=None),
        "« images » est obligatoire",
    ),
    ("bad date", lambda k: good(k, occurred_at="hier"), "n'est pas une date ISO 8601"),
    ("impossible date", lambda k: good(k, occurred_at="2026-02-30T10:00:00Z"), "ISO 8601"),
    ("date as a number", lambda k: good(k, occurred_at=1763283600), "ISO 8601"),
    ("naive date", lambda k: good(k, occurred_at="2026-11-16T09:00:00"), "fuseau horaire"),
    ("in the future", lambda k: good(k, occurred_at="2026-11-16T10:06:00+01:00"), "futur"),
    ("before the account", lambda k: good(k, occurred_at="2025-06-01T10:00:00Z"), "ouverture"),
    ("next month early", lambda k: good(k, occurred_at="2026-12-01T00:00:00+01:00"), "futur"),
]


@pytest.mark.parametrize(
    ("make_event", "message"),
    [pytest.param(make, message, id=name) for name, make, message in BAD_EVENTS],
)
def test_a_bad_event_is_rejected_alone_and_the_good_ones_are_accepted(
    gateway, key, freeze, make_event, message
):
    freeze(NOW)

    response = post_events(gateway, [good(key, idem="avant"), make_event(key), good(key)])

    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert message in body["results"][1]["error"]
    assert "cost" not in body["results"][1]
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert UsageEvent.objects.count() == 2


def test_within_clock_skew_an_event_from_the_near_future_is_accepted(gateway, key, freeze):
    freeze(NOW)

    response = post_events(gateway, [good(key, occurred_at="2026-11-16T10:04:59+01:00")])

    assert response.json()["accepted"] == 1


def test_counts_given_as_integer_strings_are_accepted(gateway, key, freeze):
    freeze(NOW)

    response = post_events(gateway, [good(key, input_tokens="500", output_tokens="1500")])

    assert response.json()["results"][0]["cost"] == "1.625"


def test_replay_through_the_api(gateway, key, freeze):
    freeze(NOW)
    post_events(gateway, [good(key)])

    response = post_events(gateway, [good(key), good(key, input_tokens=1)])

    assert response.json() == {
        "results": [
            {"idempotency_key": "ok", "status": "duplicate", "cost": "1.625"},
            {
                "idempotency_key": "ok",
                "status": "rejected",
                "error": "Conflit : cette clé d'idempotence a déjà été utilisée pour un autre "
                "événement.",
            },
        ],
        "accepted": 0,
        "duplicates": 1,
        "rejected": 1,
    }


def authorize(client, raw):
    response = client.post(AUTHORIZE, {"api_key": raw}, format="json")
    assert response.status_code == 200
    return response.json()


def test_authorize_an_active_key_with_credits(gateway, key, freeze):
    freeze(NOW)

    assert authorize(gateway, key.raw) == {
        "allowed": True,
        "reason": None,
        "message": "Appel autorisé.",
        "remaining_credits": "100.00",
        "pay_as_you_go": False,
    }


def test_authorize_refuses_unknown_and_revoked_keys(gateway, key, freeze):
    freeze(NOW)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=datetime(2026, 11, 1, tzinfo=ALGIERS))

    unknown = authorize(gateway, "iaf_inconnue")
    revoked = authorize(gateway, key.raw)

    assert (unknown["allowed"], unknown["reason"], unknown["remaining_credits"]) == (
        False,
        "unknown_key",
        None,
    )
    assert (revoked["allowed"], revoked["reason"], revoked["message"]) == (
        False,
        "revoked_key",
        "Clé API révoquée.",
    )


def test_authorize_once_credits_are_spent_depends_on_payg(gateway, key, freeze):
    freeze(NOW)
    post_events(gateway, [good(key, idem=f"e{n}") for n in range(62)])  # 100.75 DZD

    off = authorize(gateway, key.raw)
    key.account.subscription.pay_as_you_go = True
    key.account.subscription.save()
    on = authorize(gateway, key.raw)

    assert (off["allowed"], off["reason"], off["remaining_credits"]) == (
        False,
        "no_credits",
        "0.00",
    )
    assert off["message"] == "Crédits du mois épuisés et pay as you go désactivé."
    assert (on["allowed"], on["reason"], on["pay_as_you_go"]) == (True, None, True)


def test_authorize_without_formula(gateway, freeze):
    freeze(NOW)
    without = ApiKeyFactory(account=AccountFactory(subscription__plan=None))
    with_payg = ApiKeyFactory(
        account=AccountFactory(subscription__plan=None, subscription__pay_as_you_go=True)
    )

    refused = authorize(gateway, without.raw)
    allowed = authorize(gateway, with_payg.raw)

    assert (refused["allowed"], refused["reason"]) == (False, "no_formula")
    assert (allowed["allowed"], allowed["remaining_credits"]) == (True, "0.00")


@pytest.mark.parametrize("body", [{}, {"api_key": 12}, {"api_key": ""}, ["iaf_x"]])
def test_authorize_needs_an_api_key(gateway, body):
    response = gateway.post(AUTHORIZE, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "« api_key » est obligatoire."}


def test_the_schema_documents_the_gateway_and_account_endpoints():
    response = APIClient().get("/api/schema/", {"format": "json"})

    schema = json.loads(response.content)
    for path in [USAGE, AUTHORIZE, "/api/v1/account/", "/api/v1/usage/"]:
        assert path in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jetonPasserelle"]["bearerFormat"] == "iafgw_…"
    assert schemes["cleClient"]["bearerFormat"] == "iaf_…"
    assert schema["paths"][USAGE]["post"]["security"] == [{"jetonPasserelle": []}]


def test_a_deactivated_customers_keys_stop_working(client):
    key = ApiKeyFactory(account=AccountFactory(subscription__plan=Plan.objects.get(slug="starter")))
    User.objects.filter(pk=key.account.owner_id).update(is_active=False)
    _, token = gateway_token_create(name="passerelle")

    account = client.get("/api/v1/account/", HTTP_AUTHORIZATION=f"Bearer {key.raw}")
    authorize = client.post(
        "/api/v1/gateway/authorize/",
        {"api_key": key.raw},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert account.status_code == 401
    assert authorize.json()["allowed"] is False
    assert authorize.json()["reason"] == "inactive_account"
