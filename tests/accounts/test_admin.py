"""Staff in /admin/: accounts with their subscription, and every change through the services."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Account, ApiKey, AuditEvent, Role, User
from billing.models import PayAsYouGoChange, PlanChange, Subscription
from billing.services.periods import current_period
from catalog.models import Plan

from .factories import AccountFactory, ApiKeyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_account_changelist")


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(email="staff@iafactory.dz", is_staff=True, is_superuser=True))
    return client


def action(client, name, accounts, **extra):
    data = {"action": name, ACTION_CHECKBOX_NAME: [a.pk for a in accounts], **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_account_list_searches_by_email_name_and_nif(staff_client, plans):
    AccountFactory(name="Atlas SARL", nif="000216001234567", subscription__plan=plans.expert)
    AccountFactory(name="Sahara SPA")

    by_nif = staff_client.get(CHANGELIST, {"q": "0002160012"})
    by_name = staff_client.get(CHANGELIST, {"q": "sahara"})

    assert [a.name for a in by_nif.context["cl"].result_list] == ["Atlas SARL"]
    assert [a.name for a in by_name.context["cl"].result_list] == ["Sahara SPA"]


def test_account_list_filters_by_formula_and_payg(staff_client, plans):
    AccountFactory(name="A", subscription__plan=plans.expert, subscription__pay_as_you_go=True)
    AccountFactory(name="B", subscription__plan=plans.starter)

    expert = staff_client.get(CHANGELIST, {"subscription__plan__id__exact": plans.expert.pk})
    payg = staff_client.get(CHANGELIST, {"subscription__pay_as_you_go__exact": "1"})

    assert [a.name for a in expert.context["cl"].result_list] == ["A"]
    assert [a.name for a in payg.context["cl"].result_list] == ["A"]


def test_account_page_shows_subscription_period_and_keys_without_hashes(
    staff_client, customer, freeze
):
    freeze("2026-11-16 10:00 +01:00")
    key = ApiKeyFactory(account=customer, name="Production")

    body = staff_client.get(
        reverse("admin:accounts_account_change", args=[customer.pk])
    ).content.decode()

    assert "Starter" in body
    assert "novembre 2026 : inclus 500,00\xa0DZD" in body
    assert key.prefix in body
    assert key.key_hash not in body
    assert "Exonéré de TVA" in body


def test_change_plan_action_asks_then_upgrades_through_the_service(
    staff_client, customer, plans, freeze
):
    freeze("2026-11-16 10:00 +01:00")

    form = action(staff_client, "change_plan", [customer])
    response = action(staff_client, "change_plan", [customer], apply="1", plan=plans.expert.pk)

    assert "Nouvelle formule" in form.content.decode()
    assert Subscription.objects.get(account=customer).plan == plans.expert
    assert current_period(account=customer).included_credits == Decimal("1500.00")
    change = PlanChange.objects.get(account=customer)
    assert change.requested_by.email == "staff@iafactory.dz"
    assert "passé à Expert, 1\xa0000,00\xa0DZD de crédits ajoutés." in response.content.decode()


def test_change_plan_action_to_none_schedules_a_downgrade(staff_client, customer, freeze):
    freeze("2026-11-16 10:00 +01:00")

    action(staff_client, "change_plan", [customer], apply="1", plan="")

    change = PlanChange.objects.get(account=customer)
    assert (change.status, change.to_plan) == ("scheduled", None)


def test_payg_actions_record_the_change(staff_client, customer):
    action(staff_client, "payg_on", [customer])

    assert Subscription.objects.get(account=customer).pay_as_you_go is True
    assert PayAsYouGoChange.objects.get(account=customer).changed_by.email == "staff@iafactory.dz"
    action(staff_client, "payg_off", [customer])
    assert Subscription.objects.get(account=customer).pay_as_you_go is False


def test_keys_are_revoked_from_the_account_page(staff_client, customer):
    key = ApiKeyFactory(account=customer)
    url = reverse("admin:accounts_account_change", args=[customer.pk])
    data = {
        "name": customer.name,
        "billing_address": customer.billing_address,
        "nif": "",
        "nis": "",
        "rc": "",
        "tva_exempt": "on",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": customer.memberships.get().pk,
        "memberships-0-account": customer.pk,
        "api_keys-TOTAL_FORMS": "1",
        "api_keys-INITIAL_FORMS": "1",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
        "api_keys-0-id": key.pk,
        "api_keys-0-account": customer.pk,
        "api_keys-0-revoke": "on",
        "plan_changes-TOTAL_FORMS": "0",
        "plan_changes-INITIAL_FORMS": "0",
        "plan_changes-MIN_NUM_FORMS": "0",
        "plan_changes-MAX_NUM_FORMS": "1000",
    }

    response = staff_client.post(url, data)

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert Account.objects.get(pk=customer.pk).tva_exempt is True


def test_revoke_action_on_the_key_list(staff_client):
    key = ApiKeyFactory()

    staff_client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke", ACTION_CHECKBOX_NAME: [key.pk]},
    )

    key.refresh_from_db()
    assert key.revoked_at is not None


def test_creating_an_account_in_the_admin_gives_it_a_subscription(staff_client):
    owner = UserFactory(email="nouveau@client.dz")

    response = staff_client.post(
        reverse("admin:accounts_account_add"),
        {"name": "Nouveau SARL", "owner": owner.pk, "billing_address": "Oran", "nif": "123"},
    )

    assert response.status_code == 302
    account = Account.objects.get(owner=owner)
    assert (account.name, account.nif) == ("Nouveau SARL", "123")
    assert Subscription.objects.get(account=account).plan is None


def test_user_admin_works_by_email(staff_client, customer):
    page = staff_client.get(reverse("admin:accounts_user_change", args=[customer.owner.pk]))
    add = staff_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "autre@client.dz",
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide-9",
            "password2": "un-mot-de-passe-solide-9",
        },
    )

    assert page.status_code == 200
    assert add.status_code == 302


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:billing_subscription_changelist",
        "admin:billing_planchange_changelist",
        "admin:billing_payasyougochange_changelist",
        "admin:accounts_apikey_changelist",
        "admin:accounts_user_changelist",
    ],
)
def test_related_admin_lists_open(staff_client, customer, url_name):
    ApiKeyFactory(account=customer)

    assert staff_client.get(reverse(url_name)).status_code == 200


def test_subscriptions_cannot_be_edited_directly(staff_client, customer):
    url = reverse("admin:billing_subscription_change", args=[customer.pk])

    staff_client.post(url, {"plan": "", "pay_as_you_go": "on"})

    assert Subscription.objects.get(account=customer).pay_as_you_go is False
    assert ApiKey.objects.count() == 0


def test_view_only_staff_cannot_change_a_customers_formula(client):
    account = AccountFactory(subscription__plan=Plan.objects.get(slug="starter"))
    viewer = User.objects.create_user(
        "lecteur@iafactory.dz", "motdepasse-solide-123", is_staff=True
    )
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_account"))
    client.force_login(viewer)

    client.post(
        reverse("admin:accounts_account_changelist"),
        {"action": "payg_on", "_selected_action": [account.pk]},
    )

    account.subscription.refresh_from_db()
    assert account.subscription.pay_as_you_go is False


def test_staff_transfer_ownership_on_request_from_the_members_list(staff_client):
    account = AccountFactory()
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)

    response = staff_client.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "make_titulaire", "_selected_action": [dev.pk]},
    )

    assert response.status_code == 302
    account.refresh_from_db()
    dev.refresh_from_db()
    assert account.owner == dev.user
    assert dev.role == Role.OWNER
    event = AuditEvent.objects.get(action=AuditEvent.Action.OWNERSHIP_TRANSFERRED)
    assert event.actor.is_staff


def test_the_account_page_lists_its_members_and_roles(staff_client):
    account = AccountFactory()
    dev = MembershipFactory(account=account, role=Role.DEVELOPER)

    page = staff_client.get(reverse("admin:accounts_account_change", args=[account.pk]))

    assert dev.user.email in page.content.decode()
    assert "développeur" in page.content.decode()
