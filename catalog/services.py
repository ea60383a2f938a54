"""Price history writes: staff schedule, reschedule or cancel prices, never rewrite the past.

A row is frozen once usage may have been charged at it: the gateway dates an event up to
EVENT_CLOCK_SKEW ahead of our clock, so a row taking effect before now + FROZEN_AHEAD may already
price recorded events; it can then never be changed nor withdrawn, and no new row may take
effect inside that window either (it would re-price those events after the fact). A new row may
not take effect in the past; an instant from a few minutes ago up to the window's end means "as
soon as possible" (a decrease applied at once) and is stored as now + FROZEN_AHEAD. A row that
makes any component dearer than the price customers were told for that instant needs the notice
period (BillingSettings.price_notice_days).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from iafactory.formatting import instant_label

from .models import AIModel, ModelPrice
from .signals import price_announced

# Staff type "now" into a form and submit it a little later.
NOW_TOLERANCE = timedelta(minutes=5)
# How far ahead of our clock the gateway may date an event (billing refuses events dated later;
# its CLOCK_SKEW must never exceed this one).
EVENT_CLOCK_SKEW = timedelta(minutes=5)
# The skew plus a margin for a batch that read the price history just before a staff write
# committed: a batch charging at a row took its clock at least FROZEN_AHEAD - EVENT_CLOCK_SKEW
# after the write, so it reads the history the write left. This rule needs nothing from billing.
FROZEN_AHEAD = EVENT_CLOCK_SKEW + timedelta(minutes=5)
COMPONENTS = ("input_per_million", "output_per_million", "per_image")
COMPONENT_LABELS = {
    "input_per_million": "input",
    "output_per_million": "output",
    "per_image": "par image",
}
IN_EFFECT_MESSAGE = (
    "Ce prix est déjà en vigueur, ou le sera dans moins de 10 minutes : des consommations ont "
    "pu être facturées à ce prix (la passerelle peut dater un événement jusqu'à 5 minutes "
    "d'avance). Il ne peut plus être modifié ni retiré : ajoutez un nouveau prix avec une date "
    "d'effet future."
)


@dataclass(frozen=True)
class PriceRow:
    """One row of a price history, saved or proposed."""

    pk: int | None
    effective_at: datetime
    input_per_million: Decimal | None = None
    output_per_million: Decimal | None = None
    per_image: Decimal | None = None

    @classmethod
    def of(cls, row: ModelPrice) -> PriceRow:
        return cls(
            pk=row.pk,
            effective_at=row.effective_at,
            input_per_million=row.input_per_million,
            output_per_million=row.output_per_million,
            per_image=row.per_image,
        )


def price_is_frozen(effective_at: datetime, *, now: datetime | None = None) -> bool:
    """Whether usage may already have been charged at a row taking effect at `effective_at`."""
    return effective_at <= (now or timezone.now()) + FROZEN_AHEAD


def price_history(model: AIModel) -> list[PriceRow]:
    if model.pk is None:
        return []
    return [PriceRow.of(row) for row in ModelPrice.objects.filter(model=model)]


def price_in_effect(history: Sequence[PriceRow], at: datetime) -> PriceRow | None:
    rows = sorted(history, key=lambda row: row.effective_at)
    index = bisect.bisect_right([row.effective_at for row in rows], at) - 1
    return rows[index] if index >= 0 else None


def notice_days() -> int:
    from .terms import sales_terms  # billing keeps the terms (catalog/terms.py)

    return sales_terms().price_notice_days


def amount_text(value: Decimal) -> str:
    """A price as staff read it: « 1 250 », « 312,5 »."""
    return formats.number_format(value.normalize(), force_grouping=True)


def instant_text(value: datetime) -> str:
    """« 1er janvier 2027 », « 15 novembre 2026 à 10 h 00 »: the house date labels."""
    return instant_label(value)


def price_check_components(
    *,
    model: AIModel,
    input_per_million: Decimal | None = None,
    output_per_million: Decimal | None = None,
    per_image: Decimal | None = None,
) -> None:
    """Text models take input and output prices, image models a price per image."""
    prices = {
        "input_per_million": input_per_million,
        "output_per_million": output_per_million,
        "per_image": per_image,
    }
    errors: dict[str, list[str]] = {}
    _check_components(model, prices, errors)
    if errors:
        raise ValidationError(errors)


def _check_components(
    model: AIModel, prices: dict[str, Decimal | None], errors: dict[str, list[str]]
) -> None:
    if model.kind == AIModel.Kind.TEXT:
        required = ("input_per_million", "output_per_million")
        missing = {
            "input_per_million": "Un modèle texte a besoin d'un prix input par million de tokens.",
            "output_per_million": (
                "Un modèle texte a besoin d'un prix output par million de tokens."
            ),
        }
        forbidden = {"per_image": "Un modèle texte n'a pas de prix par image : laissez vide."}
    else:
        required = ("per_image",)
        missing = {"per_image": "Un modèle image a besoin d'un prix par image."}
        message = "Un modèle image est facturé à l'image : laissez les prix par token vides."
        forbidden = {"input_per_million": message, "output_per_million": message}
    for field in required:
        if prices[field] is None:
            errors.setdefault(field, []).append(missing[field])
        elif prices[field] < 0:
            errors.setdefault(field, []).append("Un prix ne peut pas être négatif.")
    for field, message in forbidden.items():
        if prices[field] is not None:
            errors.setdefault(field, []).append(message)


def _reference(
    history: Sequence[PriceRow], others: Sequence[PriceRow], at: datetime
) -> dict[str, Decimal]:
    """What customers were told they would pay at `at`: the highest of the announced row
    (the one being replaced included) and the row that applies once it is replaced."""
    reference: dict[str, Decimal] = {}
    for row in (price_in_effect(history, at), price_in_effect(others, at)):
        if row is None:
            continue
        for field in COMPONENTS:
            value = getattr(row, field)
            if value is not None and (field not in reference or value > reference[field]):
                reference[field] = value
    return reference


def price_validate(
    *,
    model: AIModel,
    effective_at: datetime | None,
    input_per_million: Decimal | None = None,
    output_per_million: Decimal | None = None,
    per_image: Decimal | None = None,
    now: datetime | None = None,
    replacing: PriceRow | None = None,
    history: Sequence[PriceRow] | None = None,
    notice: int | None = None,
) -> datetime:
    """Check a new price row (or the new values of `replacing`, a future row) for `model`.

        `history` is the model's price history (default: read from the database); the caller may
        pass a simulated one to check several changes in a row. Returns the instant the row will
        take effect (an instant from NOW_TOLERANCE before `now` to the end of the frozen window
    becomes `now + FROZEN_AHEAD`). Raises
        ValidationError with a dict of French messages keyed by field.
    """
    now = now or timezone.now()
    prices = {
        "input_per_million": input_per_million,
        "output_per_million": output_per_million,
        "per_image": per_image,
    }
    errors: dict[str, list[str]] = {}
    _check_components(model, prices, errors)
    if effective_at is None:
        errors.setdefault("effective_at", []).append("Indiquez la date d'effet du prix.")
    elif effective_at < now - NOW_TOLERANCE:
        errors.setdefault("effective_at", []).append(
            f"Le {instant_text(effective_at)} est déjà passé : un prix ne peut pas prendre effet "
            "dans le passé (des consommations ont déjà été facturées). Choisissez une date "
            "future, ou maintenant pour une baisse."
        )
    if errors:
        raise ValidationError(errors)
    history = list(price_history(model) if history is None else history)
    # A model without any price charges nothing yet: its first price may start now.
    effective_at = max(effective_at, now + FROZEN_AHEAD if history else now)

    others = [row for row in history if replacing is None or row.pk != replacing.pk]
    if any(row.effective_at == effective_at for row in others):
        message = f"Ce modèle a déjà un prix qui prend effet le {instant_text(effective_at)}."
        raise ValidationError({"effective_at": [message]})

    reference = _reference(history, others, effective_at)
    increases = [
        field
        for field, value in prices.items()
        if value is not None and field in reference and value > reference[field]
    ]
    notice = notice_days() if notice is None else notice
    earliest = now + timedelta(days=notice)
    if increases and effective_at < earliest:
        details = ", ".join(
            f"{COMPONENT_LABELS[field]} {amount_text(reference[field])} → "
            f"{amount_text(prices[field])} DZD"
            for field in increases
        )
        raise ValidationError(
            {
                "effective_at": [
                    f"Hausse de prix ({details}) : elle doit être annoncée au moins {notice} "
                    f"jours à l'avance. Choisissez une date d'effet à partir du "
                    f"{instant_text(earliest)}, ou un prix qui ne dépasse pas le prix en vigueur "
                    "à cette date."
                ]
            }
        )
    return effective_at


def _lock_model(model: AIModel) -> AIModel:
    # Serializes the changes of one model's history.
    return AIModel.objects.select_for_update().get(pk=model.pk)


def _ensure_not_frozen(price: ModelPrice) -> None:
    # The real clock, whatever `now` the caller validated with: a row that has entered the
    # frozen window since may already price usage.
    if price_is_frozen(price.effective_at):
        raise ValidationError(IN_EFFECT_MESSAGE)


@transaction.atomic
def price_schedule(
    *,
    model: AIModel,
    effective_at: datetime,
    input_per_million: Decimal | None = None,
    output_per_million: Decimal | None = None,
    per_image: Decimal | None = None,
    now: datetime | None = None,
    by: User | None = None,
) -> ModelPrice:
    """Add a row to `model`'s price history (see price_validate for the rules)."""
    model = _lock_model(model)
    effective_at = price_validate(
        model=model,
        effective_at=effective_at,
        input_per_million=input_per_million,
        output_per_million=output_per_million,
        per_image=per_image,
        now=now,
    )
    price = ModelPrice.objects.create(
        model=model,
        effective_at=effective_at,
        input_per_million=input_per_million,
        output_per_million=output_per_million,
        per_image=per_image,
    )
    _audit(AuditEvent.Action.PRICE_SCHEDULED, price, by)
    if _is_increase(price):
        price_announced.send(sender=ModelPrice, price=price)
    return price


def _is_increase(price: ModelPrice) -> bool:
    """Higher than the row before it, on any component."""
    previous = (
        ModelPrice.objects.filter(model_id=price.model_id, effective_at__lt=price.effective_at)
        .order_by("-effective_at")
        .first()
    )
    if previous is None:
        return False
    return any(
        getattr(price, field) is not None
        and getattr(previous, field) is not None
        and getattr(price, field) > getattr(previous, field)
        for field in ("input_per_million", "output_per_million", "per_image")
    )


def _audit(action: AuditEvent.Action, price: ModelPrice, by: User | None) -> None:
    audit_record(
        action=action,
        actor=by,
        target=price.model.slug,
        details={
            "effective_at": price.effective_at,
            "input_per_million": price.input_per_million,
            "output_per_million": price.output_per_million,
            "per_image": price.per_image,
        },
    )


@transaction.atomic
def price_reschedule(
    *,
    price: ModelPrice,
    effective_at: datetime,
    input_per_million: Decimal | None = None,
    output_per_million: Decimal | None = None,
    per_image: Decimal | None = None,
    now: datetime | None = None,
    by: User | None = None,
) -> ModelPrice:
    """Change an announced row that is not frozen yet (see price_is_frozen)."""
    model = _lock_model(price.model)
    price = ModelPrice.objects.select_for_update().get(pk=price.pk)
    _ensure_not_frozen(price)
    price.effective_at = price_validate(
        model=model,
        effective_at=effective_at,
        input_per_million=input_per_million,
        output_per_million=output_per_million,
        per_image=per_image,
        now=now,
        replacing=PriceRow.of(price),
    )
    price.input_per_million = input_per_million
    price.output_per_million = output_per_million
    price.per_image = per_image
    price.save()
    _audit(AuditEvent.Action.PRICE_CHANGED, price, by)
    return price


@transaction.atomic
def price_cancel(*, price: ModelPrice, by: User | None = None) -> None:
    """Withdraw an announced row that is not frozen yet (see price_is_frozen)."""
    _lock_model(price.model)
    price = ModelPrice.objects.select_for_update().get(pk=price.pk)
    _ensure_not_frozen(price)
    _audit(AuditEvent.Action.PRICE_CANCELLED, price, by)
    price.delete()
