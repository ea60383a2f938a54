"""Spending controls end to end without concurrency: the pay-as-you-go ceiling, key budgets and
expiry, the prepaid balance; their services, authorize answers, audit, API and pages."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.services import ApiKeyError, api_key_update
from billing.metering import usage_authorize, usage_record_batch
from billing.models import (
    BillingPeriod,
    KeySpend,
    PayAsYouGoChange,
    PrepaidBalance,
    Subscription,
    UsageEvent,
)
from billing.services.pay_as_you_go import payg_default_cap, payg_set
from billing.services.prepaid import PrepaidError, prepaid_credit
from billing.services.subscriptions import SubscriptionError
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.conftest import customer, text_event

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOW = "2026-11-16 10:00 +01:00"
HTMX = {"HTTP_HX_REQUEST": "true"}


def at(hour, minute=0, day=16):
    return datetime(2026, 11, day, hour, minute, tzinfo=ALGIERS)


def deepseek(key, idem, hour, output_tokens=50_000):
    # deepseek-v3: 1 000 in × 70 + 50 000 out × 140 per million = 0.07 + 7 = 7.07 DZD
    event = text_event(
        key, idem, input_tokens=1000, output_tokens=output_tokens, model="deepseek-v3"
    )
    event["occurred_at"] = at(hour).isoformat()
    return event


def period_of(key):
    return BillingPeriod.objects.get(account=key.account)


# The pay-as-you-go ceiling


def test_turning_payg_on_records_the_ceiling_with_time_author_and_audit(freeze):
    freeze(NOW)
    key = customer("20")
    owner = key.account.owner

    payg_set(account=key.account, enabled=True, cap=Decimal("150.00"), by=owner)
    payg_set(account=key.account, enabled=True, cap=Decimal("400.00"), by=owner)

    changes = list(PayAsYouGoChange.objects.filter(account=key.account).order_by("pk"))
    assert [(c.enabled, c.cap, c.changed_by) for c in changes] == [
        (True, Decimal("150.00"), owner),
        (True, Decimal("400.00"), owner),
    ]
    assert changes[1].changed_at == at(10)
    assert Subscription.objects.get(account=key.account).payg_cap == Decimal("400.00")
    audits = AuditEvent.objects.filter(account=key.account).order_by("pk")
    assert [(a.action, a.actor) for a in audits] == [
        (AuditEvent.Action.PAYG_ON, owner),
        (AuditEvent.Action.PAYG_CAP_CHANGED, owner),
        (AuditEvent.Action.PAYG_CAP_CHANGED, owner),
    ]
    assert audits.last().details == {"plafond": {"avant": "150.00", "après": "400.00"}}


def test_switching_payg_off_keeps_the_ceiling_and_no_ceiling_is_an_explicit_none():
    key = customer("20")
    payg_set(account=key.account, enabled=True, cap=Decimal("90.00"))

    payg_set(account=key.account, enabled=False)
    kept = Subscription.objects.get(account=key.account).payg_cap
    payg_set(account=key.account, enabled=True, cap=None)

    assert kept == Decimal("90.00")
    assert Subscription.objects.get(account=key.account).payg_cap is None


@pytest.mark.parametrize("cap", ["-1", "10.005", "NaN"])
def test_a_ceiling_must_be_a_positive_amount_in_centimes(cap):
    key = customer("20")

    with pytest.raises(SubscriptionError):
        payg_set(account=key.account, enabled=True, cap=Decimal(cap))

    assert not PayAsYouGoChange.objects.filter(account=key.account).exists()


def test_the_proposed_ceiling_is_the_formulas_monthly_fee():
    key = customer("20")
    fee = key.account.subscription.plan.monthly_fee

    assert payg_default_cap(account=key.account) == fee
    assert payg_default_cap(account=customer(None).account) is None


def test_events_past_the_ceiling_are_written_off_and_authorize_says_payg_cap_reached(freeze):
    freeze(NOW)
    key = customer("0")
    freeze("2026-11-16 08:00 +01:00")
    payg_set(account=key.account, enabled=True, cap=Decimal("10.00"))
    freeze(NOW)

    batch = usage_record_batch(events=[deepseek(key, "a", 9), deepseek(key, "b", 9)])

    assert batch.accepted == 2
    rows = list(UsageEvent.objects.order_by("idempotency_key"))
    assert [(r.overage, r.written_off) for r in rows] == [
        (Decimal("7.07"), Decimal("0")),
        (Decimal("2.93"), Decimal("4.14")),
    ]
    assert period_of(key).overage == Decimal("10.00")
    answer = usage_authorize(raw_key=key.raw)
    assert (answer.allowed, answer.reason) == (False, "payg_cap_reached")
    assert answer.message == "Plafond mensuel de pay as you go atteint."


def test_raising_the_ceiling_mid_month_reopens_at_once_and_earlier_events_keep_the_old_one(
    freeze,
):
    freeze("2026-11-16 08:00 +01:00")
    key = customer("0")
    payg_set(account=key.account, enabled=True, cap=Decimal("10.00"))
    freeze("2026-11-16 09:30 +01:00")
    usage_record_batch(events=[deepseek(key, "a", 9), deepseek(key, "b", 9)])
    freeze("2026-11-16 10:00 +01:00")

    payg_set(account=key.account, enabled=True, cap=Decimal("20.00"))
    allowed = usage_authorize(raw_key=key.raw)
    # A late event from before the raise is still bound by the old ceiling; one after is not.
    usage_record_batch(events=[deepseek(key, "late", 9), deepseek(key, "c", 10)])

    assert (allowed.allowed, allowed.reason) == (True, None)
    late = UsageEvent.objects.get(idempotency_key="late")
    after = UsageEvent.objects.get(idempotency_key="c")
    assert (late.overage, late.written_off) == (Decimal("0"), Decimal("7.07"))
    assert (after.overage, after.written_off) == (Decimal("7.07"), Decimal("0"))
    assert period_of(key).overage == Decimal("17.07")


# Key budgets and expiry


def test_a_key_at_its_budget_is_refused_while_the_accounts_other_keys_go_on(freeze):
    freeze(NOW)
    key = customer("100")
    other = ApiKeyFactory(account=key.account)
    api_key_update(key=key, name="Budgétée", budget=Decimal("10.00"), expires_at=None)

    usage_record_batch(events=[deepseek(key, "a", 9), deepseek(key, "b", 9)])

    spend = KeySpend.objects.get(api_key=key)
    b = UsageEvent.objects.get(idempotency_key="b")
    assert spend.charged == Decimal("10.00")
    assert (b.credits, b.written_off) == (Decimal("2.93"), Decimal("4.14"))
    assert period_of(key).consumed == Decimal("10.00")
    refused = usage_authorize(raw_key=key.raw)
    assert (refused.allowed, refused.reason) == (False, "key_budget_reached")
    assert usage_authorize(raw_key=other.raw).allowed is True


def test_the_dashboard_does_not_blame_pay_as_you_go_for_a_key_budget_write_off(freeze, client):
    freeze(NOW)
    key = customer("100", payg=True)
    api_key_update(key=key, name="Budgétée", budget=Decimal("10.00"), expires_at=None)
    usage_record_batch(events=[deepseek(key, "a", 9), deepseek(key, "b", 9)])
    client.force_login(key.account.owner)

    html = client.get("/espace-client/").content.decode()

    assert period_of(key).written_off == Decimal("4.14")
    assert "pay as you go était désactivé" not in html
    assert "budget de la clé atteint" in html


def test_an_expired_key_is_refused_and_its_later_events_rejected(freeze):
    freeze(NOW)
    key = customer("100")
    api_key_update(key=key, name=key.name, budget=None, expires_at=at(9, 30))

    batch = usage_record_batch(events=[deepseek(key, "before", 9), deepseek(key, "after", 10)])

    assert [r.status for r in batch.results] == ["accepted", "rejected"]
    assert batch.results[1].error == "Clé API expirée."
    answer = usage_authorize(raw_key=key.raw)
    assert (answer.allowed, answer.reason, answer.message) == (
        False,
        "expired_key",
        "Clé API expirée.",
    )


def test_updating_a_key_is_audited_with_what_changed():
    key = customer("100")
    owner = key.account.owner

    api_key_update(key=key, name=" Serveur ", budget=Decimal("50.00"), expires_at=None, by=owner)

    key.refresh_from_db()
    audit = AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_UPDATED)
    assert (key.name, key.monthly_budget) == ("Serveur", Decimal("50.00"))
    assert audit.actor == owner
    assert audit.details == {
        "nom": {"avant": "Production", "après": "Serveur"},
        "budget": {"avant": None, "après": "50.00"},
    }
    with pytest.raises(ApiKeyError):
        api_key_update(key=key, name="  ", budget=None, expires_at=None)


# The prepaid balance


def test_prepaid_pays_after_the_credits_and_before_overage(freeze):
    freeze(NOW)
    key = customer("5", payg=True)
    prepaid_credit(account=key.account, amount=Decimal("3.00"), reason="Recharge")

    usage_record_batch(events=[deepseek(key, "a", 9)])

    event = UsageEvent.objects.get()
    assert (event.credits, event.prepaid, event.overage) == (
        Decimal("5.00"),
        Decimal("2.07"),
        Decimal("0"),
    )
    usage_record_batch(events=[deepseek(key, "b", 9)])
    b = UsageEvent.objects.get(idempotency_key="b")
    assert (b.credits, b.prepaid, b.overage) == (Decimal("0"), Decimal("0.93"), Decimal("6.14"))
    assert PrepaidBalance.objects.get(account=key.account).balance == 0
    assert period_of(key).prepaid_used == Decimal("3.00")


def test_a_prepaid_balance_alone_lets_an_account_without_formula_spend():
    key = customer(None)
    assert usage_authorize(raw_key=key.raw).reason == "no_formula"

    prepaid_credit(account=key.account, amount=Decimal("1.00"), reason="Recharge")

    assert usage_authorize(raw_key=key.raw).allowed is True


def test_prepaid_credit_is_audited_and_never_takes_the_balance_below_zero():
    account = AccountFactory()
    prepaid_credit(account=account, amount=Decimal("12.50"), reason="Recharge payée")

    with pytest.raises(PrepaidError):
        prepaid_credit(account=account, amount=Decimal("-12.51"), reason="Correction")
    with pytest.raises(PrepaidError):
        prepaid_credit(account=account, amount=Decimal("1.005"), reason="x")

    assert PrepaidBalance.objects.get(account=account).balance == Decimal("12.50")
    audit = AuditEvent.objects.get(action=AuditEvent.Action.PREPAID_CREDITED)
    assert audit.details == {
        "montant": "12.50",
        "avant": "0.00",
        "après": "12.50",
        "motif": "Recharge payée",
    }


# API


def test_account_api_gives_the_ceiling_what_remains_and_the_prepaid_balance(freeze):
    freeze("2026-11-16 08:00 +01:00")
    key = customer("0")
    payg_set(account=key.account, enabled=True, cap=Decimal("10.00"))
    freeze(NOW)
    usage_record_batch(events=[deepseek(key, "a", 9)])
    prepaid_credit(account=key.account, amount=Decimal("4.50"), reason="Recharge")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")

    body = client.get("/api/v1/account/").json()

    assert (body["payg_cap"], body["payg_cap_remaining"]) == ("10.00", "2.93")
    assert (body["prepaid_balance"], body["prepaid_used"]) == ("4.50", "0.00")
    payg_set(account=key.account, enabled=True, cap=None)
    body = client.get("/api/v1/account/").json()
    assert (body["payg_cap"], body["payg_cap_remaining"]) == (None, None)


# Espace client


@pytest.fixture
def owner_client(client):
    key = customer("20")
    client.force_login(key.account.owner)
    client.key = key
    return client


def test_turning_payg_on_without_a_ceiling_or_sans_plafond_is_refused(owner_client):
    response = owner_client.post(reverse("accounts:payg"), {"enabled": "1", "cap": ""})

    assert response.status_code == 400
    assert "Indiquez un plafond mensuel, ou cochez « Sans plafond »." in response.content.decode()
    assert Subscription.objects.get(account=owner_client.key.account).pay_as_you_go is False


@pytest.mark.parametrize("htmx", [False, True])
def test_turning_payg_on_with_a_ceiling_from_the_api_page(owner_client, htmx):
    response = owner_client.post(
        reverse("accounts:payg"), {"enabled": "1", "cap": "250,50"}, **(HTMX if htmx else {})
    )

    subscription = Subscription.objects.get(account=owner_client.key.account)
    assert (subscription.pay_as_you_go, subscription.payg_cap) == (True, Decimal("250.50"))
    if htmx:
        body = response.content.decode()
        assert 'data-testid="payg-plafond">250,50\xa0DZD<' in body
        assert 'data-testid="payg-reste">250,50\xa0DZD<' in body
    else:
        assert response.status_code == 302


def test_sans_plafond_is_an_explicit_choice(owner_client):
    owner_client.post(reverse("accounts:payg"), {"enabled": "1", "no_cap": "on", "cap": "100"})

    subscription = Subscription.objects.get(account=owner_client.key.account)
    assert (subscription.pay_as_you_go, subscription.payg_cap) == (True, None)


def test_api_page_proposes_the_formula_fee_and_shows_each_keys_spend_against_its_budget(
    owner_client, freeze
):
    freeze(NOW)
    key = owner_client.key
    api_key_update(key=key, name=key.name, budget=Decimal("8.00"), expires_at=None)
    usage_record_batch(events=[deepseek(key, "a", 9)])

    body = owner_client.get(reverse("accounts:api")).content.decode()

    fee = key.account.subscription.plan.monthly_fee
    assert f'value="{fee:.2f}'.replace(".", ",") in body
    assert 'data-testid="cle-depense">7,07\xa0DZD / 8,00\xa0DZD' in body


@pytest.mark.parametrize("htmx", [False, True])
def test_a_key_is_renamed_budgeted_and_given_an_expiry_from_the_api_page(
    owner_client, freeze, htmx
):
    freeze(NOW)
    key = owner_client.key

    response = owner_client.post(
        reverse("accounts:api_key_update", args=[key.pk]),
        {"name": "Serveur", "budget": "30", "expires_on": "2026-12-31"},
        **(HTMX if htmx else {}),
    )

    key.refresh_from_db()
    assert response.status_code == (200 if htmx else 302)
    assert (key.name, key.monthly_budget) == ("Serveur", Decimal("30.00"))
    assert key.expires_at == datetime(2026, 12, 31, tzinfo=ALGIERS)
    assert (
        AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_UPDATED).actor == key.account.owner
    )


def test_a_past_expiry_or_another_accounts_key_is_refused(owner_client, freeze):
    freeze(NOW)
    key = owner_client.key
    stranger = ApiKeyFactory()

    past = owner_client.post(
        reverse("accounts:api_key_update", args=[key.pk]),
        {"name": "Serveur", "budget": "", "expires_on": "2026-11-16"},
    )
    foreign = owner_client.post(
        reverse("accounts:api_key_update", args=[stranger.pk]), {"name": "x"}
    )

    assert past.status_code == 400
    assert "Choisissez une date à venir." in past.content.decode()
    assert foreign.status_code == 404
    key.refresh_from_db()
    assert key.name == "Production"


def test_dashboard_shows_the_prepaid_balance_and_what_remains_of_the_ceiling(owner_client, freeze):
    freeze(NOW)
    account = owner_client.key.account
    payg_set(account=account, enabled=True, cap=Decimal("100.00"))
    prepaid_credit(account=account, amount=Decimal("42.00"), reason="Recharge")
    BillingPeriod.objects.filter(account=account).update(
        overage=Decimal("30.25"), prepaid_used=Decimal("3.50")
    )

    body = owner_client.get(reverse("accounts:dashboard")).content.decode()

    assert 'data-testid="solde-prepaye">42,00\xa0DZD<' in body
    assert 'data-testid="prepaye-utilise">3,50\xa0DZD<' in body
    assert 'data-testid="plafond">100,00\xa0DZD<' in body
    assert 'data-testid="plafond-restant">69,75\xa0DZD<' in body
