"""The pay-as-you-go ceiling in a real browser: turned on with a ceiling, the gateway refused
once the month's overage reaches it, and accepted again as soon as the customer raises it."""

import pytest
from allauth.account.models import EmailAddress

from accounts.gateway import gateway_token_create
from billing.models import BillingPeriod, Subscription
from tests.accounts.factories import PASSWORD, AccountFactory, ApiKeyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stat(page, testid: str) -> str:
    return page.get_by_test_id(testid).inner_text().replace("\u202f", " ").replace("\xa0", " ")


def test_customer_sets_a_ceiling_sees_the_api_refused_at_it_then_raises_it(page, freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory(owner__email="yacine@oran-ia.dz")  # no formula: overage only
    EmailAddress.objects.create(user=account.owner, email=account.owner.email, verified=True)
    key = ApiKeyFactory(account=account)
    _, gateway_token = gateway_token_create(name="passerelle")
    gateway = {"Authorization": f"Bearer {gateway_token}"}

    def authorize():
        response = page.request.post(
            "/api/v1/gateway/authorize/", headers=gateway, data={"api_key": key.raw}
        )
        assert response.status == 200
        return response.json()

    page.goto("/comptes/login/")
    page.get_by_label("Adresse e-mail").fill("yacine@oran-ia.dz")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/espace-client/api/")

    # Turning it on asks for a ceiling: none given and « sans plafond » not ticked is refused.
    page.get_by_label("Plafond mensuel de dépassement (DZD HT)").fill("")
    page.get_by_role("button", name="Activer le pay as you go").click()
    page.get_by_text("Indiquez un plafond mensuel, ou cochez « Sans plafond ».").first.wait_for()
    assert authorize()["reason"] == "no_formula"

    page.get_by_label("Plafond mensuel de dépassement (DZD HT)").fill("10")
    page.get_by_role("button", name="Activer le pay as you go").click()
    page.get_by_text("Pay as you go activé : au-delà de vos crédits").first.wait_for()
    assert stat(page, "payg-plafond") == "10,00 DZD"
    assert authorize()["allowed"] is True

    # Two calls of 7,07 DZD (deepseek-v3, 1 000 in + 50 000 out): the second crosses 10,00.
    events = [
        {
            "idempotency_key": f"appel-{n}",
            "api_key": key.raw,
            "model": "deepseek-v3",
            "input_tokens": 1000,
            "output_tokens": 50_000,
        }
        for n in (1, 2)
    ]
    response = page.request.post("/api/v1/gateway/usage/", headers=gateway, data={"events": events})
    assert response.json()["accepted"] == 2
    period = BillingPeriod.objects.get(account=account)
    assert (str(period.overage), str(period.written_off)) == ("10.0000000000", "4.1400000000")
    refused = authorize()
    assert (refused["allowed"], refused["reason"]) == (False, "payg_cap_reached")

    page.reload()
    page.get_by_test_id("payg-plafond-atteint").wait_for()
    assert stat(page, "payg-reste") == "0,00 DZD"
    page.get_by_label("Plafond mensuel de dépassement (DZD HT)").fill("25")
    page.get_by_role("button", name="Enregistrer le plafond").click()
    page.get_by_text("jusqu'à 25,00 DZD de dépassement").first.wait_for()
    assert stat(page, "payg-reste") == "15,00 DZD"
    assert Subscription.objects.get(account=account).payg_cap == 25
    accepted = authorize()
    assert (accepted["allowed"], accepted["reason"]) == (True, None)

    page.goto("/espace-client/")
    assert stat(page, "plafond") == "25,00 DZD"
    assert stat(page, "plafond-restant") == "15,00 DZD"
