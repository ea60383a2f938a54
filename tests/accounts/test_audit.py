"""The audit trail: who changed a price, a formula, pay-as-you-go or settings, and when."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, User
from billing.services.pay_as_you_go import payg_set
from billing.services.subscriptions import subscription_change
from catalog.models import AIModel, Plan
from tests.catalog.test_admin import change_form, new_row

from .factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_user(client):
    user = User.objects.create_superuser("staff@iafactory.dz", "motdepasse-solide-123")
    client.force_login(user)
    return user


def test_a_price_scheduled_in_the_admin_is_recorded_with_its_author(client, staff_user, freeze):
    freeze("2026-11-16 10:00 +01:00")
    gpt = AIModel.objects.get(slug="gpt-4.1")
    url, data, formset = change_form(client, gpt)
    new_row(
        data,
        formset,
        date="01/01/2027",
        time="00:00:00",
        input_per_million="300",
        output_per_million="1200",
    )

    response = client.post(url, data)

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.PRICE_SCHEDULED)
    assert (event.actor, event.actor_label, event.target) == (
        staff_user,
        "staff@iafactory.dz",
        "gpt-4.1",
    )
    assert event.details["input_per_million"] == "300"
    assert event.details["effective_at"] == "2027-01-01T00:00:00+01:00"


def test_a_formula_edit_in_the_admin_records_before_and_after(client, staff_user):
    starter = Plan.objects.get(slug="starter")
    url = reverse("admin:catalog_plan_change", args=[starter.pk])
    data = {
        "name": "Starter",
        "included_credits": "600.00",
        "monthly_fee": "500.00",
        "description": starter.description,
        "order": starter.order,
        "is_active": "on",
    }

    response = client.post(url, data)

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.PLAN_EDITED)
    assert event.details == {"included_credits": {"avant": "500.00", "après": "600.00"}}
    assert event.actor == staff_user


def test_customer_formula_and_payg_changes_are_recorded_on_the_account(freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory(subscription__plan=Plan.objects.get(slug="starter"))
    owner = account.owner

    subscription_change(account=account, plan=Plan.objects.get(slug="expert"), by=owner)
    payg_set(account=account, enabled=True, by=owner)
    payg_set(account=account, enabled=False, by=None)

    events = list(AuditEvent.objects.filter(account=account).order_by("pk"))
    assert [event.action for event in events] == [
        AuditEvent.Action.SUBSCRIPTION_UPGRADED,
        AuditEvent.Action.PAYG_ON,
        AuditEvent.Action.PAYG_OFF,
    ]
    assert events[0].details["de"] == "starter"
    assert events[0].details["vers"] == "expert"
    assert Decimal(events[0].details["credits_ajoutes"]) == Decimal("1000.00")
    assert [event.actor_label for event in events] == [owner.email, owner.email, "système"]


def test_staff_read_the_trail_in_the_admin_and_cannot_alter_it(client, staff_user):
    account = AccountFactory()
    payg_set(account=account, enabled=True, by=account.owner)
    event = AuditEvent.objects.get()

    listing = client.get(reverse("admin:accounts_auditevent_changelist"))
    detail = client.get(reverse("admin:accounts_auditevent_change", args=[event.pk]))
    delete = client.post(
        reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert listing.status_code == 200
    assert account.owner.email in listing.content.decode()
    assert detail.status_code == 200
    assert delete.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_invoice_status_changes_in_the_admin_are_recorded(client, staff_user):
    from tests.billing.factories import InvoiceFactory

    invoice = InvoiceFactory()

    response = client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "mark_paid", "_selected_action": [invoice.pk]},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.INVOICE_PAID)
    assert (event.target, event.actor, event.account) == (
        invoice.number,
        staff_user,
        invoice.account,
    )
