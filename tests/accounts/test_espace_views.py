"""The espace client pages: what they show and what each form does, plain and with htmx."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import ApiKey
from billing.models import BillingPeriod, PayAsYouGoChange, PlanChange, Subscription
from billing.services.pay_as_you_go import payg_set
from billing.services.periods import current_period
from billing.services.subscriptions import subscription_change

from .factories import AccountFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_dashboard_shows_formula_credits_payg_overage_and_written_off(
    customer_client, customer, freeze
):
    freeze("2026-11-16 10:00 +01:00")
    period = current_period(account=customer)
    BillingPeriod.objects.filter(pk=period.pk).update(
        consumed=Decimal("125.5"), overage=Decimal("0"), written_off=Decimal("1.625")
    )

    response = customer_client.get(reverse("accounts:dashboard"))

    body = text(response)
    assert response.status_code == 200
    assert 'data-testid="formule">Starter<' in body
    assert 'data-testid="credits-inclus">500,00\xa0DZD<' in body
    assert 'data-testid="credits-consommes">125,50\xa0DZD<' in body
    assert 'data-testid="credits-restants">374,50\xa0DZD<' in body
    assert 'value="25"' in body  # progress bar: 125.5 of 500
    assert 'data-testid="payg">Désactivé<' in body
    assert 'data-testid="depassement">0,00\xa0DZD<' in body
    assert 'data-testid="abandonne">1,63\xa0DZD<' in body
    assert "Crédits de novembre 2026" in body


def test_dashboard_shows_the_scheduled_change_with_a_cancel_button(
    customer_client, customer, plans, freeze
):
    freeze("2026-11-16 10:00 +01:00")
    subscription_change(account=customer, plan=None)

    body = text(customer_client.get(reverse("accounts:dashboard")))

    assert "passage à aucune formule\n    le 1er décembre 2026" in body
    assert reverse("accounts:formule_annuler") in body


def test_cancelling_from_the_dashboard_returns_to_the_dashboard(customer_client, customer, freeze):
    freeze("2026-11-16 10:00 +01:00")
    subscription_change(account=customer, plan=None)

    response = customer_client.post(
        reverse("accounts:formule_annuler"), {"retour": "dashboard"}, follow=True
    )

    assert response.redirect_chain == [(reverse("accounts:dashboard"), 302)]
    assert messages_of(response) == [
        "Le changement programmé est annulé : vous gardez « Starter »."
    ]
    assert not PlanChange.objects.filter(account=customer, status="scheduled").exists()


def test_dashboard_without_formula_nor_payg_says_the_api_is_not_active(client, freeze):
    account = AccountFactory()
    client.force_login(account.owner)
    freeze("2026-11-16 10:00 +01:00")

    body = text(client.get(reverse("accounts:dashboard")))

    assert "Votre API n'est pas encore active." in body
    assert 'data-testid="formule">Aucune formule<' in body
    assert "tout l'usage est facturé" not in body
    assert (
        '<p class="muted" data-testid="formule-etat">Aucune formule : choisissez une formule ou '
        "activez le pay as you go pour utiliser l&#x27;API.</p>"
        in body
        or '<p class="muted" data-testid="formule-etat">Aucune formule : choisissez une formule ou '
        "activez le pay as you go pour utiliser l'API.</p>"
        in body
    )


def test_dashboard_without_formula_with_payg_says_all_usage_is_billed(client, freeze):
    account = AccountFactory()
    freeze("2026-11-16 10:00 +01:00")
    payg_set(account=account, enabled=True)
    client.force_login(account.owner)

    body = text(client.get(reverse("accounts:dashboard")))

    assert (
        'data-testid="formule-etat">Pay as you go uniquement : tout l\'usage est facturé '
        "en fin de mois.</p>" in body.replace("&#x27;", "'")
    )


def test_sidebar_has_coordonnees_and_highlights_it_there(customer_client):
    body = text(customer_client.get(reverse("accounts:coordonnees")))

    assert '<a href="/espace-client/coordonnees/" aria-current="page">Coordonnées</a>' in body
    assert '<a href="/espace-client/" aria-current="page">Tableau de bord</a>' not in body


def test_every_e_mail_field_says_adresse_e_mail_never_courriel(customer_client):
    for url in [
        "/comptes/email/",
        "/comptes/login/",
        "/comptes/signup/",
        "/comptes/password/reset/",
    ]:
        body = text(customer_client.get(url))
        assert "Courriel" not in body, url
    assert '<label for="id_email">Adresse e-mail</label>' in text(
        customer_client.get("/comptes/email/")
    )


def test_formula_page_marks_the_current_formula_and_offers_the_others(customer_client):
    response = customer_client.get(reverse("accounts:formule"))

    cards = [(card.slug, card.relation) for card in response.context["cards"]]
    assert cards == [
        ("aucune", "downgrade"),
        ("starter", "current"),
        ("standard", "upgrade"),
        ("expert", "upgrade"),
    ]
    assert "Votre formule" in text(response)


def test_upgrade_preview_shows_the_exact_amounts_before_confirming(customer_client, freeze):
    freeze("2026-11-16 10:00 +01:00")

    response = customer_client.get(reverse("accounts:formule_apercu"), {"formule": "expert"})

    body = text(response)
    assert response.templates[0].name == "accounts/formule_apercu.html"
    assert 'data-testid="credits-ajoutes">+1\xa0000,00\xa0DZD<' in body
    assert 'data-testid="frais-prorata">1\xa0250,00\xa0DZD HT<' in body
    assert ">250,00\xa0DZD" in body  # Starter, 15 days (not the tail of 1 250,00)
    assert "1\xa0500,00\xa0DZD" in body  # the month's fee total
    assert 'name="jour" value="2026-11-16"' in body
    assert current_period(account=response.context["o"].account).included_credits == Decimal(
        "500.00"
    )


def test_preview_with_htmx_is_the_partial_only(customer_client, freeze):
    freeze("2026-11-16 10:00 +01:00")

    response = customer_client.get(
        reverse("accounts:formule_apercu"), {"formule": "expert"}, **HTMX
    )

    assert next(t.name for t in response.templates) == "accounts/partials/_formule_apercu.html"
    assert text(response).lstrip().startswith('<section id="formule-apercu"')
    assert "HX-Request" in response["Vary"]


def test_downgrade_preview_gives_the_date_it_takes_effect(client, plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    client.force_login(account.owner)
    freeze("2026-11-16 10:00 +01:00")

    body = text(client.get(reverse("accounts:formule_apercu"), {"formule": "starter"}))

    assert 'data-testid="date-effet">1er décembre 2026<' in body
    assert "Programmer ce changement" in body


def test_confirming_an_upgrade_applies_it_and_says_so(customer_client, customer, freeze):
    freeze("2026-11-16 10:00 +01:00")

    response = customer_client.post(
        reverse("accounts:formule"), {"formule": "expert", "jour": "2026-11-16"}, follow=True
    )

    assert response.redirect_chain == [(reverse("accounts:formule"), 302)]
    assert messages_of(response) == [
        "Formule Expert active dès maintenant : 1\xa0000,00\xa0DZD de crédits ajoutés pour ce mois."
    ]
    assert Subscription.objects.get(account=customer).plan.slug == "expert"
    assert current_period(account=customer).included_credits == Decimal("1500.00")


def test_confirming_with_htmx_returns_the_updated_formula_partial(customer_client, freeze):
    freeze("2026-11-16 10:00 +01:00")

    response = customer_client.post(
        reverse("accounts:formule"), {"formule": "expert", "jour": "2026-11-16"}, **HTMX
    )

    body = text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="formule"')
    assert "Formule Expert active dès maintenant" in body
    assert 'data-formule="expert"' in body
    assert [(c.slug, c.relation) for c in response.context["cards"]][-1] == ("expert", "current")


def test_a_preview_from_yesterday_is_shown_again_instead_of_applied(
    customer_client, customer, freeze
):
    freeze("2026-11-17 08:00 +01:00")

    response = customer_client.post(
        reverse("accounts:formule"), {"formule": "expert", "jour": "2026-11-16"}
    )

    assert response.status_code == 200
    assert response.context["preview"].on == date(2026, 11, 17)
    assert Subscription.objects.get(account=customer).plan.slug == "starter"


def test_confirming_a_downgrade_schedules_it(client, plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    client.force_login(account.owner)
    freeze("2026-11-16 10:00 +01:00")

    response = client.post(reverse("accounts:formule"), {"formule": "aucune"}, follow=True)

    assert messages_of(response) == [
        "Passage à aucune formule programmé pour le 1er décembre 2026. D'ici là, vous gardez "
        "votre formule actuelle et pouvez annuler ce changement."
    ]
    change = PlanChange.objects.get(account=account)
    assert (change.status, change.to_plan) == ("scheduled", None)
    assert change.requested_by == account.owner


def test_an_unknown_formula_is_refused_with_a_message(customer_client):
    response = customer_client.post(reverse("accounts:formule"), {"formule": "gold"}, follow=True)

    assert messages_of(response) == ["Cette formule n'existe pas ou n'est plus proposée."]


def test_choosing_the_current_formula_says_nothing_changes(customer_client):
    response = customer_client.post(
        reverse("accounts:formule"), {"formule": "starter"}, follow=True
    )

    assert messages_of(response) == ["La formule Starter est déjà la vôtre."]


def test_api_page_lists_keys_by_prefix_without_secrets(customer_client, customer):
    key = ApiKeyFactory(account=customer, name="Production")

    body = text(customer_client.get(reverse("accounts:api")))

    assert f"<code>{key.prefix}…</code>" in body
    assert key.raw not in body
    assert key.key_hash not in body
    assert "Jamais" in body  # never used


def test_creating_a_key_shows_it_once_with_a_copy_button(customer_client, customer):
    response = customer_client.post(reverse("accounts:api_key_create"), {"name": "Serveur"})

    body = text(response)
    key = ApiKey.objects.get(account=customer)
    raw = response.context["raw_key"]
    assert raw.startswith(key.prefix)
    assert f'value="{raw}"' in body
    assert 'data-copy-target="nouvelle-cle"' in body
    assert raw not in text(customer_client.get(reverse("accounts:api")))


def test_creating_a_key_with_htmx_returns_the_keys_partial(customer_client):
    response = customer_client.post(reverse("accounts:api_key_create"), {"name": "Test"}, **HTMX)

    body = text(response)
    assert body.lstrip().startswith('<section id="cles-api"')
    assert "Clé « Test » créée." in body


def test_a_key_needs_a_name(customer_client, customer):
    response = customer_client.post(reverse("accounts:api_key_create"), {"name": "  "})

    assert "Ce champ est obligatoire." in text(response)
    assert not ApiKey.objects.filter(account=customer).exists()


def test_revoking_a_key_is_immediate(customer_client, customer, freeze):
    moment = freeze("2026-11-16 10:00 +01:00")
    key = ApiKeyFactory(account=customer, name="Production")

    response = customer_client.post(reverse("accounts:api_key_revoke", args=[key.pk]), follow=True)

    key.refresh_from_db()
    assert key.revoked_at == moment
    assert messages_of(response) == [
        f"La clé « Production » ({key.prefix}…) est révoquée : elle ne fonctionne plus."
    ]


def test_payg_switch_on_then_off(customer_client, customer, freeze):
    freeze("2026-11-16 10:00 +01:00")

    response = customer_client.post(
        reverse("accounts:payg"), {"enabled": "1", "cap": "500"}, follow=True
    )

    assert Subscription.objects.get(account=customer).pay_as_you_go is True
    assert messages_of(response)[0].startswith("Pay as you go activé")
    response = customer_client.post(reverse("accounts:payg"), {"enabled": "0"}, **HTMX)
    assert text(response).lstrip().startswith('<section id="payg"')
    assert 'data-testid="payg-etat">Désactivé<' in text(response)
    assert list(
        PayAsYouGoChange.objects.filter(account=customer).values_list("enabled", flat=True)
    ) == [True, False]


def test_a_user_without_customer_account_gets_a_404(client, django_user_model):
    staff = django_user_model.objects.create_user(email="staff@iafactory.dz", is_staff=True)
    client.force_login(staff)

    assert client.get(reverse("accounts:dashboard")).status_code == 404


def test_upgrade_preview_warns_that_a_scheduled_downgrade_will_be_cancelled(client, plans, freeze):
    account = AccountFactory(subscription__plan=plans.standard)
    client.force_login(account.owner)
    freeze("2026-11-16 10:00 +01:00")
    subscription_change(account=account, plan=plans.starter)

    body = text(client.get(reverse("accounts:formule_apercu"), {"formule": "expert"}))

    assert "Le passage à la formule Starter prévu le 1er décembre 2026 sera annulé." in body


def test_billing_details_are_edited_by_the_customer(customer_client, customer):
    page = customer_client.get(reverse("accounts:coordonnees"))

    response = customer_client.post(
        reverse("accounts:coordonnees"),
        {
            "name": " Atlas SARL ",
            "billing_address": "5 rue Larbi Ben M'hidi\nAlger",
            "nif": "000216001234567",
            "nis": "",
            "rc": "16/00-1234567 B 12",
        },
        follow=True,
    )

    assert customer.name in text(page)
    customer.refresh_from_db()
    assert (customer.name, customer.nif, customer.rc) == (
        "Atlas SARL",
        "000216001234567",
        "16/00-1234567 B 12",
    )
    assert customer.billing_address == "5 rue Larbi Ben M'hidi\nAlger"
    assert messages_of(response) == [
        "Coordonnées de facturation enregistrées : elles figureront sur vos prochaines factures."
    ]


def test_a_malformed_nif_is_refused(customer_client, customer):
    response = customer_client.post(
        reverse("accounts:coordonnees"), {"name": "Atlas", "nif": "12AB"}
    )

    assert "Le NIF se compose de 15 à 20 chiffres." in text(response)
    customer.refresh_from_db()
    assert customer.nif == ""
