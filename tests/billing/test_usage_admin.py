from decimal import Decimal

import pytest

from accounts.keys import hash_secret
from accounts.models import GatewayToken, User
from billing.metering import usage_record_batch
from billing.models import BillingPeriod, CreditAlert, UsageEvent
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(email="staff@iafactory.dz", password="x-Secret-123")
    client.force_login(user)
    return client


@pytest.fixture
def charged(freeze, django_capture_on_commit_callbacks):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory(
        name="Sonatrach Digital", subscription__plan=PlanFactory(included_credits=Decimal("10"))
    )
    key = ApiKeyFactory(account=account)
    with django_capture_on_commit_callbacks(execute=True):  # the alerts are claimed after it
        usage_record_batch(
            events=[
                {
                    "idempotency_key": "req-42",
                    "api_key": key.raw,
                    "model": "flux-schnell",
                    "images": 2,
                }
            ]
        )
    return account


def test_usage_events_are_listed_searched_and_never_editable(staff, charged):
    listing = staff.get("/admin/billing/usageevent/", {"q": "req-42"})
    event = UsageEvent.objects.get()
    detail = staff.get(f"/admin/billing/usageevent/{event.pk}/change/")
    add = staff.get("/admin/billing/usageevent/add/")

    assert listing.status_code == 200
    assert "Sonatrach Digital" in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="cost"' not in detail.content.decode()
    assert add.status_code == 403


def test_a_period_shows_its_totals_and_links_to_its_events(staff, charged):
    period = BillingPeriod.objects.get(account=charged)

    response = staff.get(f"/admin/billing/billingperiod/{period.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Voir les événements du mois" in html
    assert f"?compte={charged.pk}&amp;mois=2026-11" in html
    # 80 % and 100 % crossed by one event: one alert, the highest.
    assert list(CreditAlert.objects.filter(period=period).values_list("threshold", flat=True)) == [
        100
    ]


def test_credit_alerts_are_listed(staff, charged):
    response = staff.get("/admin/billing/creditalert/")

    assert response.status_code == 200
    assert "Sonatrach Digital" in response.content.decode()


def test_a_gateway_token_is_shown_once_at_creation_and_never_its_hash(staff):
    response = staff.post(
        "/admin/accounts/gatewaytoken/add/", {"name": "passerelle-prod"}, follow=True
    )

    token = GatewayToken.objects.get(name="passerelle-prod")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(word for word in shown[0].split() if word.startswith("iafgw_"))
    assert hash_secret(raw) == token.token_hash
    assert token.token_hash not in response.content.decode()
    listing = staff.get("/admin/accounts/gatewaytoken/").content.decode()
    detail = staff.get(f"/admin/accounts/gatewaytoken/{token.pk}/change/").content.decode()
    for html in (listing, detail):
        assert token.token_hash not in html
        assert raw not in html


def test_gateway_tokens_are_revoked_by_an_admin_action(staff):
    staff.post("/admin/accounts/gatewaytoken/add/", {"name": "ancienne"})
    token = GatewayToken.objects.get()

    staff.post(
        "/admin/accounts/gatewaytoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None
