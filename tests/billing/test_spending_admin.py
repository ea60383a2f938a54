"""Staff and the spending controls in /admin/: every change through the services, audited."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from billing.models import PayAsYouGoChange, PrepaidBalance, Subscription
from tests.accounts.factories import AccountFactory, ApiKeyFactory, UserFactory
from tests.accounts.test_admin import action

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(email="staff@iafactory.dz", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def test_staff_turn_payg_on_with_a_ceiling(staff):
    account = AccountFactory()

    form = action(staff, "payg_cap_set", [account])
    action(staff, "payg_cap_set", [account], apply="1", enabled="1", cap="1200")

    assert "Plafond mensuel de dépassement" in form.content.decode()
    subscription = Subscription.objects.get(account=account)
    assert (subscription.pay_as_you_go, subscription.payg_cap) == (True, Decimal("1200.00"))
    change = PayAsYouGoChange.objects.get(account=account)
    assert (change.cap, change.changed_by) == (Decimal("1200.00"), staff.user)


def test_staff_adjust_a_prepaid_balance_with_a_reason(staff):
    account = AccountFactory()

    action(staff, "prepaid_adjust", [account], apply="1", amount="300", reason="Geste")
    response = action(staff, "prepaid_adjust", [account], apply="1", amount="-301", reason="x")

    assert PrepaidBalance.objects.get(account=account).balance == Decimal("300.00")
    assert "ne peut pas devenir négatif" in response.content.decode()
    audit = AuditEvent.objects.get(action=AuditEvent.Action.PREPAID_CREDITED)
    assert (audit.actor, audit.details["motif"]) == (staff.user, "Geste")
    page = staff.get(reverse("admin:accounts_account_change", args=[account.pk]))
    body = page.content.decode()
    assert "300,00\xa0DZD" in body


def test_staff_edit_a_keys_budget_and_expiry_through_the_audited_service(staff):
    key = ApiKeyFactory(name="Production")

    staff.post(
        reverse("admin:accounts_apikey_change", args=[key.pk]),
        {
            "name": "Prod",
            "monthly_budget": "75.5",
            "expires_at_0": "31/12/2026",
            "expires_at_1": "00:00:00",
        },
    )

    key.refresh_from_db()
    assert (key.name, key.monthly_budget) == ("Prod", Decimal("75.50"))
    assert key.expires_at == datetime(2026, 12, 31, tzinfo=ZoneInfo("Africa/Algiers"))
    audit = AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_UPDATED)
    assert audit.actor == staff.user
    assert audit.details["nom"] == {"avant": "Production", "après": "Prod"}
