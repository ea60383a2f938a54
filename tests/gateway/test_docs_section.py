"""« Appeler un modèle » on /documentation-api/: base URL, examples, model ids, errors."""

import re

import pytest
from django.utils import timezone

from gateway.errors import REASONS
from tests.accounts.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db
DOCS = "/documentation-api/"


def section(client) -> str:
    response = client.get(DOCS)
    assert response.status_code == 200
    page = response.content.decode()
    return re.search(r'<section id="appeler".*?</section>', page, re.S).group(0)


@pytest.fixture(autouse=True)
def _gateway_url(settings):
    settings.GATEWAY_PUBLIC_URL = "https://api.exemple.dz"


def test_the_base_url_comes_from_the_gateway_public_url_setting(client):
    page = section(client)

    assert '<code id="gateway-base-url">https://api.exemple.dz/v1</code>' in page
    assert "curl https://api.exemple.dz/v1/chat/completions" in page
    assert 'OpenAI(base_url="https://api.exemple.dz/v1"' in page


def test_every_catalog_model_id_is_listed_and_used_in_the_examples(client):
    page = section(client)

    for slug in ["gpt-4.1", "claude-sonnet-4.5", "deepseek-v3", "flux-schnell"]:
        assert f"<code>{slug}</code>" in page
    assert '"model": "gpt-4.1"' in page
    assert 'model="flux-schnell"' in page


def test_anonymous_visitors_see_a_placeholder_key(client):
    page = section(client)

    assert 'api_key="iaf_…"' in page
    assert "Bearer iaf_…" in page


def test_a_signed_in_customer_sees_the_prefix_of_their_newest_active_key(client):
    older = ApiKeyFactory(name="ancienne")
    newest = ApiKeyFactory(account=older.account, name="production")
    ApiKeyFactory(account=older.account, name="révoquée", revoked_at=timezone.now())
    ApiKeyFactory(name="d'un autre client")
    client.force_login(older.account.owner)

    page = section(client)

    assert f'api_key="{newest.prefix}…"' in page
    assert f"Bearer {newest.prefix}…" in page
    assert older.prefix not in page


def test_every_refusal_reason_is_explained_with_the_status_the_gateway_sends(client):
    page = section(client)

    rows = re.findall(r"<tr><td>(\d{3})</td><td><code>(\w+)</code></td>", page)
    documented = {reason: int(status) for status, reason in rows}
    assert documented == {reason: status for reason, (status, _) in REASONS.items()}
    assert documented == {
        "missing_key": 401,
        "unknown_key": 401,
        "revoked_key": 401,
        "inactive_account": 401,
        "no_credits": 402,
        "no_formula": 402,
        "payg_cap_reached": 402,
        "key_budget_reached": 402,
        "unpaid_invoice": 402,
        "portal_unavailable": 503,
    }
