"""Customer API keys: shown once, stored only as a hash, revoked at once."""

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from accounts.keys import hash_secret
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from billing.metering import usage_authorize

from .factories import AccountFactory

pytestmark = pytest.mark.django_db


def active_key_for(raw: str) -> ApiKey | None:
    return ApiKey.objects.filter(key_hash=hash_secret(raw), revoked_at__isnull=True).first()


def test_a_key_is_stored_only_as_its_sha256_and_a_visible_prefix(customer):
    key, raw = api_key_create(account=customer, name=" Production ")

    row = ApiKey.objects.filter(pk=key.pk).values().get()
    assert raw.startswith("iaf_")
    assert len(raw) > 40
    assert row["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert row["prefix"] == raw[:12]
    assert row["name"] == "Production"
    assert all(raw not in str(value) for value in row.values())


def test_two_keys_never_share_a_secret(customer):
    _, first = api_key_create(account=customer, name="A")
    _, second = api_key_create(account=customer, name="B")

    assert first != second


def test_a_revoked_key_stops_working_at_once(customer, freeze):
    moment = freeze("2026-11-16 10:00 +01:00")
    key, raw = api_key_create(account=customer, name="Production")
    assert active_key_for(raw) == key

    api_key_revoke(account=customer, key_id=key.pk)

    assert active_key_for(raw) is None
    assert usage_authorize(raw_key=raw).reason == "revoked_key"  # the gateway's own check
    key.refresh_from_db()
    assert key.revoked_at == moment
    assert key.is_active is False


def test_revoking_twice_keeps_the_first_revocation_time(customer, freeze):
    first = freeze("2026-11-16 10:00 +01:00")
    key, _ = api_key_create(account=customer, name="Production")
    api_key_revoke(account=customer, key_id=key.pk)
    freeze("2026-11-17 10:00 +01:00")

    again = api_key_revoke(account=customer, key_id=key.pk)

    assert again.revoked_at == first


def test_revoking_another_accounts_key_is_refused(customer):
    key, raw = api_key_create(account=AccountFactory(), name="Autre")

    with pytest.raises(ApiKey.DoesNotExist):
        api_key_revoke(account=customer, key_id=key.pk)

    assert active_key_for(raw) == key


def test_the_api_refuses_a_key_revoked_from_the_espace_client(customer_client, customer):
    key, raw = api_key_create(account=customer, name="Production")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/account/").status_code == 200

    customer_client.post(reverse("accounts:api_key_revoke", args=[key.pk]))

    assert api.get("/api/v1/account/").status_code == 401
