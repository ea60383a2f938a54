"""What an overage line bills: the quantities beyond the credits, per unit price (issue 15).

An event's cost is paid by its sources in order (DESIGN.md 3, « Credits, prepaid balance and
pay-as-you-go »): included credits, prepaid balance, overage, write-off. Within one event the
sources pay its input tokens first, then its output tokens (an image event: its images). The
overage slice of an event, so placed, is a quantity of input tokens, of output tokens, or of
images, each at the unit price the event was charged at.

An invoice bills, per model, unit (input, output, image) and unit price, the sum of those
quantities, rounded once: tokens to the whole token, images to the thousandth of an image, half
up; the line's amount is that quantity × the unit price, rounded to the centime half up. So
quantity × unit price = amount checks by hand on every line. The straddling events (partly on
the credits) are the only source of fractions: the invoice differs from the ledger's exact
overage by at most half a token (or half a thousandth of an image) per line before rounding.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from catalog.models import ModelPrice
from catalog.pricing import PriceBook
from iafactory.formatting import format_amount, format_integer, format_money

from .models import UsageDaily, UsageEvent
from .money import ZERO, round_money
from .periods import BILLING_TZ, Month, local_date

MILLION = Decimal(1_000_000)
ONE_DAY = timedelta(days=1)
INPUT = "input"
OUTPUT = "output"
IMAGE = "image"
UNITS = (INPUT, OUTPUT, IMAGE)
# Tokens are billed whole; an image partly on the credits, to the thousandth.
_QUANTUM = {INPUT: Decimal(1), OUTPUT: Decimal(1), IMAGE: Decimal("0.001")}


@dataclass(frozen=True)
class EventCharge:
    """What the ledger holds of one event: counts, unit prices and the split of its cost."""

    input_tokens: int
    output_tokens: int
    images: int
    input_price: Decimal | None
    output_price: Decimal | None
    image_price: Decimal | None
    covered: Decimal  # credits + prepaid: paid before the overage
    overage: Decimal


def event_overage_quantities(event: EventCharge) -> dict[str, Decimal]:
    """Exact quantities of each unit in the event's overage slice, by unit (absent: none).

    The slice is [covered, covered + overage) of the cost, input tokens first: an event with
    nothing covered and nothing written off bills its whole counts."""
    if event.overage <= ZERO:
        return {}
    if event.image_price is not None:
        if not event.image_price:
            return {}
        return {IMAGE: event.overage / event.image_price}
    input_price = event.input_price or ZERO
    output_price = event.output_price or ZERO
    input_cost = event.input_tokens * input_price / MILLION
    output_cost = event.output_tokens * output_price / MILLION
    if event.covered == ZERO and event.overage == input_cost + output_cost:
        return {INPUT: Decimal(event.input_tokens), OUTPUT: Decimal(event.output_tokens)}
    end = event.covered + event.overage
    input_part = max(ZERO, min(input_cost, end) - event.covered)
    output_part = max(ZERO, min(event.overage - input_part, output_cost))
    quantities = {}
    if input_part and input_price:
        quantities[INPUT] = input_part * MILLION / input_price
    if output_part and output_price:
        quantities[OUTPUT] = output_part * MILLION / output_price
    return quantities


def billed_quantity(unit: str, exact: Decimal) -> Decimal:
    """The quantity an invoice line bills: whole tokens, thousandths of an image, half up."""
    return exact.quantize(_QUANTUM[unit], rounding=ROUND_HALF_UP)


def line_amount(*, unit: str, quantity: Decimal, unit_price: Decimal) -> Decimal:
    """quantity × unit price (per 1 000 000 tokens, or per image), to the centime half up."""
    per = Decimal(1) if unit == IMAGE else MILLION
    return round_money(quantity * unit_price / per)


@dataclass(frozen=True)
class PricedOverage:
    """One model's overage at one unit price in a period: the quantity billed, its first use."""

    model_id: int
    unit: str
    unit_price: Decimal
    quantity: Decimal  # billed: already rounded by billed_quantity
    first_at: datetime


def _unit_prices(input_price, output_price, image_price) -> dict[str, Decimal | None]:
    if image_price is not None:
        return {IMAGE: image_price}
    return {INPUT: input_price, OUTPUT: output_price}


_EVENT_FIELDS = (
    "period_id",
    "account_id",
    "model_id",
    "input_tokens",
    "output_tokens",
    "images",
    "input_price",
    "output_price",
    "image_price",
    "credits",
    "prepaid",
    "overage",
    "occurred_at",
)


def _charge(row: dict) -> EventCharge:
    return EventCharge(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        images=row["images"],
        input_price=row["input_price"],
        output_price=row["output_price"],
        image_price=row["image_price"],
        covered=row["credits"] + row["prepaid"],
        overage=row["overage"],
    )


def priced_overages_load(
    *, periods: dict[int, int], month: Month, book: PriceBook | None = None
) -> dict[int, list[PricedOverage]]:
    """Each period's overage per (model, unit, unit price), by period id; `periods` maps
    account id → period id of `month`.

    Read from the daily rollups (their overage counts are the whole counts of the events with
    some overage), corrected by the few events partly covered (the credits ran out, or the
    ceiling was reached, during them: a partial index finds them), and, on a day a model's
    price changed at another instant than midnight, by that day's events of that model. So a
    constant number of queries whatever the number of events, as the rollups allow."""
    period_of = dict(periods)
    if not period_of:
        return {}
    book = book or PriceBook.for_models()
    split_days = _split_days(month)
    exact: dict[tuple, Decimal] = defaultdict(Decimal)
    first: dict[tuple, datetime] = {}

    def add(key: tuple, quantity: Decimal, at: datetime) -> None:
        exact[key] += quantity
        first[key] = min(first.get(key, at), at)

    for row in (
        UsageDaily.objects.filter(
            account_id__in=list(period_of),
            day__gte=month.first_day,
            day__lte=month.last_day,
            overage__gt=0,
        )
        .values("account_id", "model_id", "day")
        .annotate(
            inputs=Sum("overage_input_tokens"),
            outputs=Sum("overage_output_tokens"),
            image_count=Sum("overage_images"),
        )
        .order_by()
    ):
        if (row["model_id"], row["day"]) in split_days:
            continue  # read from that day's events below
        at = day_start(row["day"])
        price = book.price_at(row["model_id"], at)
        if price is None:
            continue
        counts = {INPUT: row["inputs"], OUTPUT: row["outputs"], IMAGE: row["image_count"]}
        prices = _unit_prices(price.input_per_million, price.output_per_million, price.per_image)
        for unit, unit_price in prices.items():
            if counts[unit] and unit_price:
                key = (period_of[row["account_id"]], row["model_id"], unit, unit_price)
                add(key, Decimal(counts[unit]), at)

    overage_events = UsageEvent.objects.filter(
        period_id__in=list(period_of.values()), overage__gt=0
    )
    partly = overage_events.filter(PARTLY_COVERED)
    if split_days:
        partly = partly | overage_events.filter(_on_days(split_days))
    for row in partly.values(*_EVENT_FIELDS):
        local_day = local_date(row["occurred_at"])
        on_split_day = (row["model_id"], local_day) in split_days
        prices = _unit_prices(row["input_price"], row["output_price"], row["image_price"])
        counts = {INPUT: row["input_tokens"], OUTPUT: row["output_tokens"], IMAGE: row["images"]}
        quantities = event_overage_quantities(_charge(row))
        for unit, unit_price in prices.items():
            if not unit_price:
                continue
            key = (row["period_id"], row["model_id"], unit, unit_price)
            # The rollup counted the event whole: take that back, add its overage slice.
            quantity = quantities.get(unit, ZERO) - (0 if on_split_day else counts[unit])
            if quantity:
                add(key, quantity, row["occurred_at"])

    priced: dict[int, list[PricedOverage]] = defaultdict(list)
    for key, quantity in exact.items():
        period_id, model_id, unit, price = key
        billed = billed_quantity(unit, quantity)
        if billed > ZERO:
            priced[period_id].append(PricedOverage(model_id, unit, price, billed, first[key]))
    return priced


# Partly covered: some overage, and something else paid or written off part of the event.
PARTLY_COVERED = Q(overage__gt=0) & (Q(credits__gt=0) | Q(prepaid__gt=0) | Q(written_off__gt=0))


def _split_days(month: Month) -> set[tuple[int, date]]:
    """(model id, Algiers day) of the month on which a price took effect after midnight."""
    changes = ModelPrice.objects.filter(
        effective_at__gt=month.starts_at, effective_at__lt=month.ends_at
    ).values_list("model_id", "effective_at")
    return {
        (model_id, local_date(instant))
        for model_id, instant in changes
        if day_start(local_date(instant)) != instant
    }


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BILLING_TZ)


def _on_days(split_days: set[tuple[int, date]]) -> Q:
    query = Q(pk__in=[])
    for model_id, day in split_days:
        start = day_start(day)
        query |= Q(model_id=model_id, occurred_at__gte=start, occurred_at__lt=start + ONE_DAY)
    return query


_UNIT_LABEL = {INPUT: "tokens en entrée", OUTPUT: "tokens en sortie"}


def quantity_label(*, unit: str, quantity: Decimal) -> str:
    """« 1 234 567 tokens », « 12 images », « 0,625 image »."""
    if unit == IMAGE:
        if quantity == quantity.to_integral_value():
            count = int(quantity)
            return f"{format_integer(count)} image{'s' if count > 1 else ''}"
        return f"{format_amount(quantity)} image{'s' if quantity > 1 else ''}"
    return f"{format_integer(int(quantity))} tokens"


def unit_price_label(*, unit: str, unit_price: Decimal) -> str:
    """« 250,00 DZD / 1M tokens », « 8,00 DZD / image » (up to 4 decimals when the price has)."""
    price = format_money(unit_price)
    if unit_price != round_money(unit_price):
        price = format_amount(unit_price)
    return f"{price}\u00a0DZD / image" if unit == IMAGE else f"{price}\u00a0DZD / 1M tokens"


def unit_label(unit: str) -> str:
    return _UNIT_LABEL.get(unit, "images")


def credits_note(*, included: Decimal, consumed: Decimal, prepaid_used: Decimal) -> str:
    """The note under overage lines: what the credits and the prepaid balance paid before the
    overage, and the rounding rule, so the lines check by hand (issue 15)."""
    return _(
        "Consommation au-delà des crédits : seule la part des appels au-delà des crédits inclus "
        "(%(consumed)s DZD utilisés sur %(included)s DZD) et du solde prépayé (%(prepaid)s DZD "
        "utilisés) est facturée ; au sein d'un appel, les crédits paient d'abord les tokens en "
        "entrée. Quantités arrondies au token près (au millième d'image près) ; montant = "
        "quantité × prix unitaire, arrondi au centime le plus proche (0,005 DZD vers le haut)."
    ) % {
        "consumed": format_money(consumed),
        "included": format_money(included),
        "prepaid": format_money(prepaid_used),
    }


def period_credits_note(period) -> str:
    """credits_note for a BillingPeriod (its included, consumed and prepaid used totals)."""
    return credits_note(
        included=period.included_credits, consumed=period.consumed, prepaid_used=period.prepaid_used
    )


def invoice_credits_note(invoice, lines) -> str:
    """The note of an issued invoice with overage lines priced per unit; empty otherwise."""
    if invoice.period_id is None or not any(line.unit for line in lines):
        return ""
    return period_credits_note(invoice.period)
