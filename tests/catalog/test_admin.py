"""Staff edit the catalog through the real admin forms (GET the form, POST it back changed)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.gateway import gateway_token_create
from accounts.models import User
from billing.models import BillingSettings, UsageEvent
from catalog.models import AIModel, FaqEntry, ModelPrice, Plan
from catalog.services import IN_EFFECT_MESSAGE
from tests.accounts.factories import AccountFactory, ApiKeyFactory

from .factories import PlanFactory, TextPriceFactory

pytestmark = pytest.mark.django_db
ALGIERS = ZoneInfo("Africa/Algiers")
SEED_INSTANT = datetime(2026, 1, 1, tzinfo=ALGIERS)


@pytest.fixture
def now(freeze):
    return freeze("2026-11-16 10:00 +01:00")


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("staff@iafactory.dz", "motdepasse-solide-123")
    client.force_login(user)
    return client


@pytest.fixture
def gpt():
    return AIModel.objects.get(slug="gpt-4.1")


def _form_data(form) -> dict:
    """What a browser would post back for `form` as rendered (disabled inputs are not sent)."""
    data = {}
    for bound in form:
        if bound.field.disabled:
            continue
        context = bound.field.widget.get_context(bound.html_name, bound.value(), {})["widget"]
        for widget in context.get("subwidgets", [context]):
            value = widget["value"]
            if widget.get("type") == "checkbox":
                if widget["attrs"].get("checked"):
                    data[widget["name"]] = "on"
            elif isinstance(value, list):
                data[widget["name"]] = value[0] if value else ""
            elif value is not None:
                data[widget["name"]] = value
    return data


def change_form(client, model):
    url = reverse("admin:catalog_aimodel_change", args=[model.pk])
    response = client.get(url)
    assert response.status_code == 200
    data = _form_data(response.context["adminform"].form)
    formset = response.context["inline_admin_formsets"][0].formset
    data.update(_form_data(formset.management_form))
    for form in formset.forms:
        data.update(_form_data(form))
    return url, data, formset


def new_row(data, formset, *, date, time, **prices):
    """Fill the empty extra row of the price inline."""
    index = formset.initial_form_count()
    data[f"prices-{index}-effective_at_0"] = date
    data[f"prices-{index}-effective_at_1"] = time
    for field, value in prices.items():
        data[f"prices-{index}-{field}"] = value


def inline_errors(response) -> list[str]:
    formset = response.context["inline_admin_formsets"][0].formset
    return [
        message
        for form in formset.forms
        for messages in form.errors.values()
        for message in messages
    ] + list(formset.non_form_errors())


def gpt_prices(gpt):
    return [
        (row.effective_at, row.input_per_million, row.output_per_million)
        for row in ModelPrice.objects.filter(model=gpt)
    ]


def test_staff_add_a_future_price_row(staff, now, gpt):
    url, data, formset = change_form(staff, gpt)
    new_row(
        data,
        formset,
        date="01/01/2027",
        time="00:00:00",
        input_per_million="300",
        output_per_million="1200.5",
    )

    response = staff.post(url, data)

    assert response.status_code == 302, inline_errors(response)
    assert gpt_prices(gpt) == [
        (SEED_INSTANT, Decimal("250"), Decimal("1000")),
        (datetime(2027, 1, 1, tzinfo=ALGIERS), Decimal("300"), Decimal("1200.5")),
    ]


def test_a_back_dated_row_is_refused_with_a_clear_message(staff, now, gpt):
    url, data, formset = change_form(staff, gpt)
    new_row(
        data,
        formset,
        date="15/11/2026",
        time="10:00:00",
        input_per_million="200",
        output_per_million="900",
    )

    response = staff.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response) == [
        "Le 15 novembre 2026 à 10\xa0h\xa000 est déjà passé : un prix ne peut pas prendre "
        "effet dans le passé (des consommations ont déjà été facturées). Choisissez une date "
        "future, ou maintenant pour une baisse."
    ]
    assert len(gpt_prices(gpt)) == 1


def test_an_increase_with_less_than_the_notice_is_refused(staff, now, gpt):
    url, data, formset = change_form(staff, gpt)
    new_row(
        data,
        formset,
        date="10/12/2026",
        time="00:00:00",
        input_per_million="250",
        output_per_million="1100",
    )

    response = staff.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response) == [
        "Hausse de prix (output 1\xa0000 → 1\xa0100 DZD) : elle doit être annoncée au moins 30 "
        "jours à l'avance. Choisissez une date d'effet à partir du 16 décembre 2026 à "
        "10\xa0h\xa000, ou un prix qui ne dépasse pas le prix en vigueur à cette date."
    ]
    assert len(gpt_prices(gpt)) == 1


def test_a_decrease_effective_now_is_accepted(staff, now, freeze, gpt):
    url, data, formset = change_form(staff, gpt)
    new_row(
        data,
        formset,
        date="16/11/2026",
        time="09:58:00",  # typed a moment ago: means now
        input_per_million="200",
        output_per_million="900",
    )

    response = staff.post(url, data)

    assert response.status_code == 302, inline_errors(response)
    # After the clock-skew window: events dated up to 10:05 may already be charged at 250/1000.
    starts = datetime(2026, 11, 16, 10, 10, tzinfo=ALGIERS)
    assert gpt_prices(gpt)[-1] == (starts, Decimal("200"), Decimal("900"))
    freeze("2026-11-16 10:10 +01:00")
    estimate = staff.get("/api/v1/estimate/?model=gpt-4.1&input_tokens=500&output_tokens=1500")
    assert estimate.json()["cost"] == "1.45"  # 0.1 + 1.35


def test_a_row_in_effect_is_shown_disabled(staff, now, gpt):
    _, _, formset = change_form(staff, gpt)

    in_force = formset.forms[0]
    assert in_force.instance.effective_at == SEED_INSTANT
    assert all(
        in_force.fields[name].disabled
        for name in ("effective_at", "input_per_million", "output_per_million", "DELETE")
    )
    assert not formset.forms[1].fields["effective_at"].disabled


def test_a_row_in_effect_cannot_be_edited_nor_deleted_by_a_forged_post(staff, now, gpt):
    url, data, _ = change_form(staff, gpt)
    data.update(
        {
            "prices-0-effective_at_0": "01/02/2026",
            "prices-0-effective_at_1": "00:00:00",
            "prices-0-input_per_million": "1",
            "prices-0-output_per_million": "2",
            "prices-0-DELETE": "on",
        }
    )

    response = staff.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response) == [IN_EFFECT_MESSAGE]
    assert gpt_prices(gpt) == [(SEED_INSTANT, Decimal("250"), Decimal("1000"))]


@pytest.mark.parametrize(
    "edit",
    [
        {"prices-1-DELETE": "on"},
        {"prices-1-input_per_million": "140"},
        {"prices-1-effective_at_0": "17/11/2026"},
    ],
)
def test_a_row_that_froze_while_the_form_was_open_is_neither_withdrawn_nor_changed(
    staff, freeze, gpt, edit
):
    # Announced at 11:00 for 12:03; staff open the form at 11:50, when it may still change.
    freeze("2026-11-16 11:00 +01:00")
    TextPriceFactory(
        model=gpt,
        effective_at=datetime(2026, 11, 16, 12, 3, tzinfo=ALGIERS),
        input_per_million=Decimal("150"),
        output_per_million=Decimal("600"),
    )
    freeze("2026-11-16 11:50 +01:00")
    url, data, formset = change_form(staff, gpt)
    assert not formset.forms[1].fields["effective_at"].disabled
    data.update(edit)
    # 12:01: an event dated 12:04 (clock skew) may already be charged at 150/600.
    freeze("2026-11-16 12:01 +01:00")

    response = staff.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response) == [IN_EFFECT_MESSAGE]
    assert "modifié avec succès" not in response.content.decode()
    assert gpt_prices(gpt)[-1] == (
        datetime(2026, 11, 16, 12, 3, tzinfo=ALGIERS),
        Decimal("150"),
        Decimal("600"),
    )


def test_an_unchanged_frozen_row_does_not_block_the_rest_of_the_form(staff, now, gpt):
    url, data, formset = change_form(staff, gpt)
    # What a browser sends for the frozen row if its inputs were enabled: the same values.
    data.update(
        {
            "prices-0-effective_at_0": "01/01/2026",
            "prices-0-effective_at_1": "00:00:00",
            "prices-0-input_per_million": "250",
            "prices-0-output_per_million": "1000",
        }
    )
    new_row(
        data,
        formset,
        date="01/01/2027",
        time="00:00:00",
        input_per_million="300",
        output_per_million="1200",
    )

    response = staff.post(url, data)

    assert response.status_code == 302, inline_errors(response)
    assert len(gpt_prices(gpt)) == 2


def test_an_announced_row_can_be_corrected_then_withdrawn(staff, now, gpt):
    TextPriceFactory(
        model=gpt,
        effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )
    url, data, _ = change_form(staff, gpt)
    data["prices-1-input_per_million"] = "290"

    corrected = staff.post(url, data)

    assert corrected.status_code == 302, inline_errors(corrected)
    assert gpt_prices(gpt)[-1][1] == Decimal("290")

    url, data, _ = change_form(staff, gpt)
    data["prices-1-DELETE"] = "on"

    withdrawn = staff.post(url, data)

    assert withdrawn.status_code == 302, inline_errors(withdrawn)
    assert gpt_prices(gpt) == [(SEED_INSTANT, Decimal("250"), Decimal("1000"))]


def test_rows_of_one_submission_are_checked_against_each_other(staff, now, gpt):
    url, data, formset = change_form(staff, gpt)
    data["prices-TOTAL_FORMS"] = "3"
    new_row(
        data,
        formset,
        date="20/11/2026",
        time="00:00:00",
        input_per_million="100",
        output_per_million="500",
    )
    # Cheaper than today but dearer than the decrease of the 20th, only 14 days later.
    data.update(
        {
            "prices-2-effective_at_0": "30/11/2026",
            "prices-2-effective_at_1": "00:00:00",
            "prices-2-input_per_million": "200",
            "prices-2-output_per_million": "500",
        }
    )

    response = staff.post(url, data)

    assert response.status_code == 200
    assert len(inline_errors(response)) == 1
    assert "Hausse de prix (input 100 → 200 DZD)" in inline_errors(response)[0]
    assert len(gpt_prices(gpt)) == 1


def test_a_text_model_price_needs_input_and_output(staff, now, gpt):
    url, data, formset = change_form(staff, gpt)
    new_row(data, formset, date="01/01/2027", time="00:00:00", input_per_million="300")

    response = staff.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response) == [
        "Un modèle texte a besoin d'un prix output par million de tokens."
    ]


def test_an_image_model_shows_and_takes_a_price_per_image(staff, now):
    flux = AIModel.objects.get(slug="flux-schnell")
    url, data, formset = change_form(staff, flux)
    assert "input_per_million" not in formset.forms[0].fields
    new_row(data, formset, date="16/11/2026", time="10:00:00", per_image="7.5")

    response = staff.post(url, data)

    assert response.status_code == 302, inline_errors(response)
    assert ModelPrice.objects.filter(model=flux).last().per_image == Decimal("7.5")


def test_a_new_model_is_added_with_its_first_price(staff, now):
    url = reverse("admin:catalog_aimodel_add")
    response = staff.get(url)
    formset = response.context["inline_admin_formsets"][0].formset
    data = _form_data(formset.management_form)
    data.update(
        {
            "slug": "qwen3",
            "name": "Qwen 3",
            "kind": "text",
            "order": "7",
            "is_active": "on",
            "prices-0-effective_at_0": "16/11/2026",
            "prices-0-effective_at_1": "10:00:00",
            "prices-0-input_per_million": "60",
            "prices-0-output_per_million": "120",
        }
    )

    response = staff.post(url, data)

    assert response.status_code == 302, inline_errors(response)
    model = AIModel.objects.get(slug="qwen3")
    assert [(p.effective_at, p.input_per_million) for p in model.prices.all()] == [
        (now, Decimal("60"))
    ]


def test_a_priced_model_keeps_its_slug_and_kind(staff, now, gpt):
    response = staff.get(reverse("admin:catalog_aimodel_change", args=[gpt.pk]))

    form = response.context["adminform"].form
    assert "slug" not in form.fields
    assert "kind" not in form.fields
    assert response.context["has_delete_permission"] is False


def test_the_admin_change_reaches_the_api_at_its_instant_and_not_before(staff, freeze, client):
    freeze("2026-11-16 10:00 +01:00")
    gpt = AIModel.objects.get(slug="gpt-4.1")
    url, data, formset = change_form(staff, gpt)
    new_row(
        data,
        formset,
        date="01/01/2027",
        time="00:00:00",
        input_per_million="300",
        output_per_million="1200",
    )
    assert staff.post(url, data).status_code == 302

    def gpt_row():
        rows = staff.get("/api/v1/models/").json()
        return next(row for row in rows if row["slug"] == "gpt-4.1")

    freeze("2026-12-31 23:59 +01:00")
    before = gpt_row()
    freeze("2027-01-01 00:00 +01:00")
    after = gpt_row()

    assert (before["input_per_million"], before["output_per_million"]) == ("250", "1000")
    assert before["upcoming"] == [
        {
            "effective_at": "2027-01-01T00:00:00+01:00",
            "input_per_million": "300",
            "output_per_million": "1200",
            "per_image": None,
        }
    ]
    assert (after["input_per_million"], after["output_per_million"]) == ("300", "1200")
    assert after["effective_at"] == "2027-01-01T00:00:00+01:00"
    assert after["upcoming"] == []


def test_model_list_shows_current_price_and_next_change(staff, now, gpt):
    TextPriceFactory(
        model=gpt,
        effective_at=datetime(2027, 1, 1, tzinfo=ALGIERS),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )

    response = staff.get(reverse("admin:catalog_aimodel_changelist"), {"q": "gpt-4"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "250 / 1\xa0000 DZD (input / output, 1M tokens)" in html
    assert "300 / 1\xa0200 DZD (input / output, 1M tokens) à partir du 1er janvier 2027" in (html)
    assert list(response.context["cl"].result_list) == [gpt]


def test_model_list_filters_by_kind(staff, now):
    response = staff.get(reverse("admin:catalog_aimodel_changelist"), {"kind__exact": "image"})

    assert {model.slug for model in response.context["cl"].result_list} == {
        "flux-schnell",
        "stable-diffusion-3.5",
    }


def test_plans_order_and_activity_are_edited_from_the_list(staff):
    plans = list(Plan.objects.order_by("order"))
    data = {
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "3",
        "_save": "Enregistrer",
    }
    for index, plan in enumerate(plans):
        data[f"form-{index}-id"] = str(plan.pk)
        data[f"form-{index}-order"] = str(10 - index)
        if plan.slug != "standard":
            data[f"form-{index}-is_active"] = "on"

    response = staff.post(reverse("admin:catalog_plan_changelist"), data)

    assert response.status_code == 302
    assert [(p.slug, p.is_active) for p in Plan.objects.order_by("order")] == [
        ("expert", True),
        ("standard", False),
        ("starter", True),
    ]


def test_plan_form_prepopulates_the_slug_then_keeps_it(staff):
    starter = Plan.objects.get(slug="starter")

    add = staff.get(reverse("admin:catalog_plan_add"))
    change = staff.get(reverse("admin:catalog_plan_change", args=[starter.pk]))

    assert add.context["adminform"].prepopulated_fields[0]["field"].name == "slug"
    assert "slug" not in change.context["adminform"].form.fields
    assert "included_credits" in change.context["adminform"].form.fields


def test_plan_search_finds_by_name(staff):
    response = staff.get(reverse("admin:catalog_plan_changelist"), {"q": "expe"})

    assert [plan.slug for plan in response.context["cl"].result_list] == ["expert"]


def test_faq_answer_help_names_the_placeholders(staff):
    response = staff.get(reverse("admin:catalog_faqentry_add"))

    help_text = response.context["adminform"].form.fields["answer"].help_text
    for placeholder in ("{taux_tva}", "{preavis_jours}", "{lien_documentation}"):
        assert placeholder in help_text


def test_faq_refuses_an_unknown_placeholder(staff):
    response = staff.post(
        reverse("admin:catalog_faqentry_add"),
        {"question": "TVA ?", "answer": "Au taux de {tva}.", "order": "9", "is_published": "on"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["answer"] == [
        "Espace réservé inconnu : {tva}. Ceux que la page remplit : {taux_tva}, "
        "{preavis_jours}, {lien_documentation}."
    ]


def test_faq_refuses_an_answer_still_marked_a_preciser(staff):
    response = staff.post(
        reverse("admin:catalog_faqentry_add"),
        {"question": "Délai ?", "answer": "Sous 48 h (À préciser).", "order": "9"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["answer"] == [
        "La réponse contient encore « (à préciser) » : complétez-la avant d'enregistrer."
    ]
    assert not FaqEntry.objects.filter(question="Délai ?").exists()


def test_faq_publication_is_toggled_from_the_list(staff):
    entry = FaqEntry.objects.order_by("order").first()

    response = staff.post(
        reverse("admin:catalog_faqentry_changelist"),
        {"action": "unpublish", "_selected_action": [str(entry.pk)]},
    )

    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.is_published is False


def test_billing_settings_is_a_single_row_edited_in_place(staff):
    settings = BillingSettings.load()

    listing = staff.get(reverse("admin:billing_billingsettings_changelist"))
    add = staff.get(reverse("admin:billing_billingsettings_add"))
    delete = staff.get(reverse("admin:billing_billingsettings_delete", args=[settings.pk]))
    change = staff.get(reverse("admin:billing_billingsettings_change", args=[settings.pk]))

    assert listing.status_code == 302
    assert listing["Location"] == reverse(
        "admin:billing_billingsettings_change", args=[settings.pk]
    )
    assert add.status_code == 403
    assert delete.status_code == 403
    assert [name for name, _ in change.context["adminform"].form.fields.items()][:2] == [
        "tva_rate",
        "price_notice_days",
    ]
    assert [fieldset.name for fieldset in change.context["adminform"]] == [
        "TVA",
        "Préavis des hausses de prix",
        "Société (mentions légales des factures)",
        "Échéances, relances et recharges",
    ]


def test_the_notice_edited_in_billing_settings_governs_the_price_admin(staff, now, gpt):
    settings = BillingSettings.load()
    url = reverse("admin:billing_billingsettings_change", args=[settings.pk])
    data = _form_data(staff.get(url).context["adminform"].form)
    data["price_notice_days"] = "10"
    assert staff.post(url, data).status_code == 302

    url, data, formset = change_form(staff, gpt)
    new_row(
        data,
        formset,
        date="26/11/2026",
        time="10:00:00",
        input_per_million="260",
        output_per_million="1000",
    )
    response = staff.post(url, data)

    assert response.status_code == 302, inline_errors(response)
    assert gpt_prices(gpt)[-1] == (
        datetime(2026, 11, 26, 10, 0, tzinfo=ALGIERS),
        Decimal("260"),
        Decimal("1000"),
    )


def test_the_price_row_that_charged_a_gateway_event_cannot_be_withdrawn(staff, freeze, gpt):
    # The sample, end to end: staff schedule gpt-4.1 at 150/600 from 12:03 ...
    freeze("2026-11-16 11:00 +01:00")
    TextPriceFactory(
        model=gpt,
        effective_at=datetime(2026, 11, 16, 12, 3, tzinfo=ALGIERS),
        input_per_million=Decimal("150"),
        output_per_million=Decimal("600"),
    )
    freeze("2026-11-16 11:50 +01:00")
    url, data, _ = change_form(staff, gpt)  # the row may still be withdrawn here
    # ... at 12:00:30 the gateway reports an event dated 12:04 (inside the clock skew) ...
    freeze(datetime(2026, 11, 16, 12, 0, 30, tzinfo=ALGIERS))
    _, token = gateway_token_create(name="passerelle")
    key = ApiKeyFactory(account=AccountFactory(subscription__plan=PlanFactory()))
    gateway = APIClient()
    gateway.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    reported = gateway.post(
        "/api/v1/gateway/usage/",
        {
            "events": [
                {
                    "idempotency_key": "e-1204",
                    "api_key": key.raw,
                    "model": "gpt-4.1",
                    "input_tokens": 500,
                    "output_tokens": 1500,
                    "occurred_at": "2026-11-16T12:04:00+01:00",
                }
            ]
        },
        format="json",
    )
    assert reported.status_code == 200, reported.content
    event = UsageEvent.objects.get(idempotency_key="e-1204")
    assert (event.input_price, event.output_price, event.cost) == (
        Decimal("150"),
        Decimal("600"),
        Decimal("0.975"),  # 0.075 + 0.9: charged at the 12:03 row
    )
    # ... at 12:01 staff withdraw that row.
    freeze("2026-11-16 12:01 +01:00")
    data["prices-1-DELETE"] = "on"

    response = staff.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response) == [IN_EFFECT_MESSAGE]
    # The history still explains the event's prices: the row in effect at 12:04 charged it.
    in_effect = ModelPrice.objects.filter(model=gpt, effective_at__lte=event.occurred_at).last()
    assert (in_effect.input_per_million, in_effect.output_per_million) == (
        event.input_price,
        event.output_price,
    )
