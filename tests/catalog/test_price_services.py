import threading
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from billing.models import BillingSettings
from catalog.models import AIModel, ModelPrice
from catalog.pricing import PriceBook
from catalog.services import (
    FROZEN_AHEAD,
    IN_EFFECT_MESSAGE,
    price_cancel,
    price_check_components,
    price_is_frozen,
    price_reschedule,
    price_schedule,
)
from tests.conftest import postgres_only

from .factories import AIModelFactory, TextPriceFactory

pytestmark = pytest.mark.django_db
ALGIERS = ZoneInfo("Africa/Algiers")


@pytest.fixture
def now(freeze):
    return freeze("2026-11-16 10:00 +01:00")


@pytest.fixture
def gpt():
    return AIModel.objects.get(slug="gpt-4.1")  # 250 / 1000 since 2026-01-01


@pytest.fixture
def flux():
    return AIModel.objects.get(slug="flux-schnell")  # 8 per image since 2026-01-01


def prices_of(model):
    return [
        (row.effective_at, row.input_per_million, row.output_per_million, row.per_image)
        for row in ModelPrice.objects.filter(model=model)
    ]


def messages(error: ValidationError, field: str) -> str:
    return " ".join(error.message_dict[field])


def test_an_increase_with_the_full_notice_is_scheduled(now, gpt):
    price = price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=30),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1000"),
    )

    assert (price.effective_at, price.input_per_million, price.output_per_million) == (
        datetime(2026, 12, 16, 10, 0, tzinfo=ALGIERS),
        Decimal("300"),
        Decimal("1000"),
    )
    assert price.per_image is None


def test_an_increase_one_minute_short_of_the_notice_is_refused(now, gpt):
    with pytest.raises(ValidationError) as error:
        price_schedule(
            model=gpt,
            effective_at=now + timedelta(days=30) - timedelta(minutes=1),
            input_per_million=Decimal("250"),
            output_per_million=Decimal("1000.0001"),
        )

    text = messages(error.value, "effective_at")
    assert "Hausse de prix (output 1\xa0000 → 1\xa0000,0001 DZD)" in text
    assert "au moins 30 jours à l'avance" in text
    assert "16 décembre 2026 à 10\xa0h\xa000" in text
    assert len(prices_of(gpt)) == 1


def test_the_notice_comes_from_billing_settings(now, gpt):
    BillingSettings.objects.filter(pk=1).update(price_notice_days=7)

    price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=7),
        input_per_million=Decimal("260"),
        output_per_million=Decimal("1000"),
    )
    with pytest.raises(ValidationError) as error:
        price_schedule(
            model=gpt,
            effective_at=now + timedelta(days=6),
            input_per_million=Decimal("255"),
            output_per_million=Decimal("1000"),
        )

    assert "au moins 7 jours" in messages(error.value, "effective_at")


def test_a_decrease_applies_once_the_clock_skew_window_has_passed(now, gpt):
    price = price_schedule(
        model=gpt,
        effective_at=now,
        input_per_million=Decimal("200"),
        output_per_million=Decimal("900"),
    )

    # Events dated up to 5 minutes ahead may already be charged at today's row.
    assert price.effective_at == datetime(2026, 11, 16, 10, 10, tzinfo=ALGIERS)


@pytest.mark.parametrize("minutes", [-4, 0, 3, 9])
def test_an_instant_from_a_few_minutes_ago_to_the_frozen_window_means_as_soon_as_possible(
    now, gpt, minutes
):
    price = price_schedule(
        model=gpt,
        effective_at=now + timedelta(minutes=minutes),
        input_per_million=Decimal("200"),
        output_per_million=Decimal("900"),
    )

    assert price.effective_at == datetime(2026, 11, 16, 10, 10, tzinfo=ALGIERS)


def test_an_instant_beyond_the_frozen_window_is_kept(now, gpt):
    price = price_schedule(
        model=gpt,
        effective_at=now + timedelta(minutes=11),
        input_per_million=Decimal("200"),
        output_per_million=Decimal("900"),
    )

    assert price.effective_at == datetime(2026, 11, 16, 10, 11, tzinfo=ALGIERS)


def test_a_back_dated_row_is_refused(now, gpt):
    with pytest.raises(ValidationError) as error:
        price_schedule(
            model=gpt,
            effective_at=now - timedelta(minutes=6),
            input_per_million=Decimal("200"),
            output_per_million=Decimal("900"),
        )

    assert "est déjà passé" in messages(error.value, "effective_at")
    assert "16 novembre 2026 à 9\xa0h\xa054" in messages(error.value, "effective_at")
    assert len(prices_of(gpt)) == 1


def test_one_dearer_component_makes_an_increase(now, gpt):
    with pytest.raises(ValidationError) as error:
        price_schedule(
            model=gpt,
            effective_at=now + timedelta(days=1),
            input_per_million=Decimal("100"),
            output_per_million=Decimal("1100"),
        )

    assert "(output 1\xa0000 → 1\xa0100 DZD)" in messages(error.value, "effective_at")


def test_an_image_increase_needs_notice_too(now, flux):
    with pytest.raises(ValidationError) as error:
        price_schedule(model=flux, effective_at=now, per_image=Decimal("8.5"))

    assert "(par image 8 → 8,5 DZD)" in messages(error.value, "effective_at")


def test_the_same_price_again_is_not_an_increase(now, flux):
    price = price_schedule(model=flux, effective_at=now, per_image=Decimal("8.0000"))

    assert price.per_image == Decimal("8")
    assert price.effective_at == now + timedelta(minutes=10)


def test_an_increase_is_compared_with_the_price_announced_for_that_instant(now, gpt):
    TextPriceFactory(
        model=gpt,
        effective_at=now + timedelta(days=10),
        input_per_million=Decimal("100"),
        output_per_million=Decimal("500"),
    )

    with pytest.raises(ValidationError) as error:
        # Cheaper than today, dearer than the decrease announced for the 26th.
        price_schedule(
            model=gpt,
            effective_at=now + timedelta(days=20),
            input_per_million=Decimal("200"),
            output_per_million=Decimal("500"),
        )

    assert "(input 100 → 200 DZD)" in messages(error.value, "effective_at")


def test_two_rows_at_the_same_instant_are_refused(now, gpt):
    at = now + timedelta(days=40)
    price_schedule(
        model=gpt, effective_at=at, input_per_million=Decimal("1"), output_per_million=Decimal("1")
    )

    with pytest.raises(ValidationError) as error:
        price_schedule(
            model=gpt,
            effective_at=at,
            input_per_million=Decimal("2"),
            output_per_million=Decimal("2"),
        )

    assert "a déjà un prix qui prend effet le 26 décembre 2026 à 10\xa0h\xa000" in messages(
        error.value, "effective_at"
    )


def test_the_first_price_of_a_new_model_needs_no_notice(now):
    model = AIModelFactory(slug="new-model")

    price = price_schedule(
        model=model,
        effective_at=now,
        input_per_million=Decimal("10"),
        output_per_million=Decimal("20"),
    )

    assert price.effective_at == now  # no event can have been charged for an unpriced model


@pytest.mark.parametrize(
    ("kind", "values", "field", "text"),
    [
        ("text", {"output_per_million": Decimal("1")}, "input_per_million", "prix input"),
        ("text", {"input_per_million": Decimal("1")}, "output_per_million", "prix output"),
        (
            "text",
            {"input_per_million": 1, "output_per_million": 1, "per_image": Decimal("3")},
            "per_image",
            "pas de prix par image",
        ),
        (
            "text",
            {"input_per_million": Decimal("-1"), "output_per_million": Decimal("1")},
            "input_per_million",
            "négatif",
        ),
        ("image", {}, "per_image", "a besoin d'un prix par image"),
        ("image", {"per_image": Decimal("-0.0001")}, "per_image", "négatif"),
        (
            "image",
            {"per_image": Decimal("1"), "input_per_million": Decimal("1")},
            "input_per_million",
            "facturé à l'image",
        ),
    ],
)
def test_components_must_match_the_model_kind(kind, values, field, text):
    model = AIModelFactory(kind=kind)

    with pytest.raises(ValidationError) as error:
        price_check_components(model=model, **values)

    assert text in messages(error.value, field)


def test_components_are_checked_when_scheduling(now, flux):
    with pytest.raises(ValidationError) as error:
        price_schedule(
            model=flux,
            effective_at=now + timedelta(days=60),
            input_per_million=Decimal("1"),
            output_per_million=Decimal("1"),
        )

    assert set(error.value.message_dict) == {"per_image", "input_per_million", "output_per_million"}


def test_an_announced_row_can_be_rescheduled(now, gpt):
    announced = price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=40),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )

    price_reschedule(
        price=announced,
        effective_at=now + timedelta(days=50),
        input_per_million=Decimal("310"),
        output_per_million=Decimal("1200"),
    )

    assert prices_of(gpt)[-1] == (
        datetime(2027, 1, 5, 10, 0, tzinfo=ALGIERS),
        Decimal("310"),
        Decimal("1200"),
        None,
    )


def test_an_announced_increase_can_be_lowered_once_inside_the_notice(now, freeze, gpt):
    announced = price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=40),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )
    freeze("2026-12-16 10:00 +01:00")  # ten days before it takes effect

    price_reschedule(
        price=announced,
        effective_at=announced.effective_at,
        input_per_million=Decimal("280"),
        output_per_million=Decimal("1200"),
    )
    with pytest.raises(ValidationError) as error:
        price_reschedule(
            price=announced,
            effective_at=announced.effective_at,
            input_per_million=Decimal("320"),
            output_per_million=Decimal("1200"),
        )

    assert "(input 280 → 320 DZD)" in messages(error.value, "effective_at")
    assert prices_of(gpt)[-1][1] == Decimal("280")


def test_a_mistyped_announced_decrease_can_be_corrected(now, gpt):
    typo = price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=2),
        input_per_million=Decimal("20"),
        output_per_million=Decimal("900"),
    )

    price_reschedule(
        price=typo,
        effective_at=typo.effective_at,
        input_per_million=Decimal("200"),
        output_per_million=Decimal("900"),
    )

    assert prices_of(gpt)[-1][1] == Decimal("200")


def test_an_announced_row_cannot_be_moved_into_the_past(now, gpt):
    announced = price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=2),
        input_per_million=Decimal("200"),
        output_per_million=Decimal("900"),
    )

    with pytest.raises(ValidationError) as error:
        price_reschedule(
            price=announced,
            effective_at=now - timedelta(days=1),
            input_per_million=Decimal("200"),
            output_per_million=Decimal("900"),
        )

    assert "est déjà passé" in messages(error.value, "effective_at")


def test_an_announced_row_can_be_cancelled(now, gpt):
    announced = price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=40),
        input_per_million=Decimal("300"),
        output_per_million=Decimal("1200"),
    )

    price_cancel(price=announced)

    assert len(prices_of(gpt)) == 1


def test_a_row_in_effect_can_be_neither_changed_nor_cancelled(now, freeze, gpt):
    announced = price_schedule(
        model=gpt,
        effective_at=now + timedelta(days=1),
        input_per_million=Decimal("200"),
        output_per_million=Decimal("900"),
    )
    in_force = ModelPrice.objects.get(model=gpt, effective_at__lt=now)
    freeze("2026-11-17 10:00 +01:00")  # the announced row has just come into effect

    for row in (in_force, announced):
        with pytest.raises(ValidationError) as error:
            price_reschedule(
                price=row,
                effective_at=now + timedelta(days=60),
                input_per_million=Decimal("1"),
                output_per_million=Decimal("1"),
            )
        assert "déjà en vigueur" in error.value.messages[0]
        with pytest.raises(ValidationError):
            price_cancel(price=row)

    assert prices_of(gpt) == [
        (datetime(2026, 1, 1, tzinfo=ALGIERS), Decimal("250"), Decimal("1000"), None),
        (datetime(2026, 11, 17, 10, 0, tzinfo=ALGIERS), Decimal("200"), Decimal("900"), None),
    ]


def test_a_row_that_charged_a_future_dated_event_cannot_be_withdrawn(freeze, gpt):
    # The sample: staff schedule 150/600 from 12:03 (announced earlier, at 11:00) ...
    freeze("2026-11-16 11:00 +01:00")
    announced = price_schedule(
        model=gpt,
        effective_at=datetime(2026, 11, 16, 12, 3, tzinfo=ALGIERS),
        input_per_million=Decimal("150"),
        output_per_million=Decimal("600"),
    )
    # ... at 12:00:30 the gateway reports an event dated 12:04, inside the clock skew: charged
    # at the 12:03 row, 500 + 1 500 tokens → 0.075 + 0.9 = 0.975 DZD.
    freeze("2026-11-16 12:00 +01:00")
    book = PriceBook.for_models([gpt.pk])
    charged = book.price_at(gpt.pk, datetime(2026, 11, 16, 12, 4, tzinfo=ALGIERS))
    assert charged.effective_at == announced.effective_at
    assert charged.cost(input_tokens=500, output_tokens=1500) == Decimal("0.975")
    # At 12:01 staff try to withdraw it, or change it.
    freeze("2026-11-16 12:01 +01:00")

    with pytest.raises(ValidationError) as withdrawn:
        price_cancel(price=announced)
    with pytest.raises(ValidationError) as changed:
        price_reschedule(
            price=announced,
            effective_at=datetime(2026, 11, 17, tzinfo=ALGIERS),
            input_per_million=Decimal("150"),
            output_per_million=Decimal("600"),
        )

    assert withdrawn.value.messages == [IN_EFFECT_MESSAGE]
    assert changed.value.messages == [IN_EFFECT_MESSAGE]
    assert prices_of(gpt)[-1] == (
        datetime(2026, 11, 16, 12, 3, tzinfo=ALGIERS),
        Decimal("150"),
        Decimal("600"),
        None,
    )


@pytest.mark.parametrize(
    ("minutes_ahead", "frozen"), [(-60, True), (0, True), (10, True), (11, False)]
)
def test_a_row_is_frozen_until_it_is_more_than_the_window_ahead(now, minutes_ahead, frozen):
    assert price_is_frozen(now + timedelta(minutes=minutes_ahead)) is frozen
    assert price_is_frozen(now + timedelta(minutes=minutes_ahead, seconds=1)) is (
        minutes_ahead < 10
    )


def test_no_new_row_lands_under_an_event_already_charged_in_the_skew_window(now, gpt):
    # An event dated 10:04 may already be charged at today's row: a decrease "now" must not
    # re-price it, so it starts after the window.
    price = price_schedule(
        model=gpt,
        effective_at=now + timedelta(minutes=2),
        input_per_million=Decimal("200"),
        output_per_million=Decimal("900"),
    )

    book = PriceBook.for_models([gpt.pk])
    assert book.price_at(gpt.pk, now + timedelta(minutes=4)).input_per_million == Decimal("250")
    assert price.effective_at == now + FROZEN_AHEAD


@postgres_only()
@pytest.mark.django_db(transaction=True)
def test_concurrent_schedules_of_one_model_are_serialized():
    gpt = AIModel.objects.get(slug="gpt-4.1")
    at = timezone.now() + timedelta(days=60)
    barrier = threading.Barrier(4)
    outcomes = []

    def schedule(input_price: str) -> None:
        try:
            barrier.wait()
            price_schedule(
                model=gpt,
                effective_at=at,
                input_per_million=Decimal(input_price),
                output_per_million=Decimal("1000"),
            )
            outcomes.append("saved")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=schedule, args=(str(300 + n),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "refused", "refused", "saved"]
    assert ModelPrice.objects.filter(model=gpt, effective_at=at).count() == 1


def test_instant_text_writes_the_first_of_the_month_as_1er():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from catalog.services import instant_text

    algiers = ZoneInfo("Africa/Algiers")
    assert instant_text(datetime(2026, 11, 1, tzinfo=algiers)) == "1er novembre 2026"
    assert instant_text(datetime(2026, 11, 1, 9, 5, tzinfo=algiers)) == (
        "1er novembre 2026 à 9\xa0h\xa005"
    )
