"""What a usage costs: the single place that turns counts and a price row into DZD.

Costs are exact Decimals (no rounding here): rounding happens once, on invoice lines.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from iafactory.formatting import format_integer

from .models import AIModel, ModelPrice

MILLION = Decimal(1_000_000)
# Far beyond any real call, small enough that costs stay within the ledger's digits.
MAX_TOKENS = 10_000_000_000
MAX_IMAGES = 1_000_000


class PricingError(ValueError):
    """Input that cannot be priced; `field` names the offending parameter.

    `message` (in the active language) names the parameter as the API knows it. When the
    message is about the parameter's value, `template` holds it with a `%(subject)s` slot so a
    form can name the field by its label instead (`about`).
    """

    def __init__(
        self, field: str, message: str, *, template: str | None = None, params: dict | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.template = template
        self.params = params or {}

    @classmethod
    def about_field(cls, field: str, template: str, **params) -> PricingError:
        """An error whose message starts with the parameter: « input_tokens » doit …"""
        subject = _("« %(field)s »") % {"field": field}
        message = template % {**params, "subject": subject}
        return cls(field, message, template=template, params=params)

    def about(self, subject: str) -> str:
        """The message naming the field by `subject` (a form label) instead of its parameter."""
        if self.template is None:
            return self.message
        return self.template % {**self.params, "subject": subject}


@dataclass(frozen=True)
class Price:
    model_id: int
    effective_at: datetime
    input_per_million: Decimal | None
    output_per_million: Decimal | None
    per_image: Decimal | None

    @classmethod
    def from_row(cls, row: ModelPrice) -> Price:
        return cls(
            model_id=row.model_id,
            effective_at=row.effective_at,
            input_per_million=row.input_per_million,
            output_per_million=row.output_per_million,
            per_image=row.per_image,
        )

    @property
    def is_text(self) -> bool:
        return self.per_image is None

    def cost(self, *, input_tokens: int = 0, output_tokens: int = 0, images: int = 0) -> Decimal:
        if self.is_text:
            return (
                input_tokens * self.input_per_million + output_tokens * self.output_per_million
            ) / MILLION
        return images * self.per_image


@dataclass(frozen=True)
class Estimate:
    model: AIModel
    price: Price
    input_tokens: int
    output_tokens: int
    images: int
    cost: Decimal


class PriceBook:
    """Price histories of several models held in memory: one query, then lookups by instant."""

    def __init__(self, rows: Iterable[ModelPrice]) -> None:
        self._instants: dict[int, list[datetime]] = {}
        self._prices: dict[int, list[Price]] = {}
        for row in sorted(rows, key=lambda r: (r.model_id, r.effective_at)):
            price = Price.from_row(row)
            self._instants.setdefault(row.model_id, []).append(row.effective_at)
            self._prices.setdefault(row.model_id, []).append(price)

    @classmethod
    def for_models(cls, model_ids: Iterable[int] | None = None) -> PriceBook:
        rows = ModelPrice.objects.all()
        if model_ids is not None:
            rows = rows.filter(model_id__in=list(model_ids))
        return cls(rows)

    def price_at(self, model_id: int, at: datetime) -> Price | None:
        instants = self._instants.get(model_id)
        if not instants:
            return None
        index = bisect.bisect_right(instants, at) - 1
        return self._prices[model_id][index] if index >= 0 else None

    def upcoming(self, model_id: int, after: datetime) -> list[Price]:
        """Announced prices that take effect after `after`, soonest first."""
        instants = self._instants.get(model_id, [])
        index = bisect.bisect_right(instants, after)
        return self._prices.get(model_id, [])[index:]


# ASCII digits only: int() would also read "٥٠٠" (Arabic-Indic digits) as 500.
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _count(field: str, value: object, limit: int) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and len(value) <= 32 and _INTEGER.match(value.strip()):
        number = int(value.strip())
    else:
        raise PricingError.about_field(field, _("%(subject)s doit être un nombre entier."))
    if number < 0:
        raise PricingError.about_field(field, _("%(subject)s ne peut pas être négatif."))
    if number > limit:
        raise PricingError.about_field(
            field,
            _("%(subject)s dépasse le maximum autorisé (%(limit)s)."),
            limit=format_integer(limit),
        )
    return number


def counts_errors(*, input_tokens: object, output_tokens: object, images: object) -> list:
    """Every count that is not a valid quantity (not only the first), as PricingErrors."""
    errors = []
    for field, value, limit in (
        ("input_tokens", input_tokens, MAX_TOKENS),
        ("output_tokens", output_tokens, MAX_TOKENS),
        ("images", images, MAX_IMAGES),
    ):
        try:
            _count(field, value, limit)
        except PricingError as error:
            errors.append(error)
    return errors


def price_model_usage(
    *,
    model: AIModel,
    input_tokens: object = 0,
    output_tokens: object = 0,
    images: object = 0,
    at: datetime | None = None,
    price_book: PriceBook | None = None,
) -> Estimate:
    """Cost of one usage of `model` at the price in effect at `at` (default: now).

    Counts may be ints or decimal strings; anything else raises PricingError naming the field.
    """
    at = at or timezone.now()
    input_count = _count("input_tokens", input_tokens, MAX_TOKENS)
    output_count = _count("output_tokens", output_tokens, MAX_TOKENS)
    image_count = _count("images", images, MAX_IMAGES)
    if model.is_text:
        if image_count:
            raise PricingError(
                "images",
                _("« %(model)s » est un modèle texte : pas d'images.") % {"model": model.slug},
            )
    elif input_count or output_count:
        field = "input_tokens" if input_count else "output_tokens"
        raise PricingError(
            field,
            _("« %(model)s » est un modèle image : comptez des images.") % {"model": model.slug},
        )
    book = price_book or PriceBook.for_models([model.pk])
    price = book.price_at(model.pk, at)
    if price is None:
        raise PricingError(
            "model",
            _("« %(model)s » n'a pas de prix en vigueur à cette date.") % {"model": model.slug},
        )
    cost = price.cost(input_tokens=input_count, output_tokens=output_count, images=image_count)
    return Estimate(model, price, input_count, output_count, image_count, cost)


def quantity_check(estimate: Estimate) -> None:
    """Refuse a usage of nothing: at least one token or one image (as /estimate/ does)."""
    if estimate.input_tokens or estimate.output_tokens or estimate.images:
        return
    if estimate.model.is_text:
        raise PricingError(
            "input_tokens",
            _("Indiquez au moins une quantité : « input_tokens » et/ou « output_tokens »."),
        )
    raise PricingError("images", _("Indiquez au moins une image (« images »)."))


def estimate_cost(
    *,
    model_slug: str,
    input_tokens: object = 0,
    output_tokens: object = 0,
    images: object = 0,
    at: datetime | None = None,
) -> Estimate:
    """Like price_model_usage, from the model's public slug (active models only)."""
    if not model_slug:
        raise PricingError("model", _("Indiquez un modèle (« model »)."))
    # Never let an impossible identifier (a NUL byte, 10 KB of text) reach the database.
    if len(model_slug) > 60 or not _SLUG.match(model_slug):
        raise PricingError(
            "model", _("Modèle inconnu : « %(model)s ».") % {"model": model_slug[:60]}
        )
    try:
        model = AIModel.objects.get(slug=model_slug, is_active=True)
    except AIModel.DoesNotExist:
        raise PricingError(
            "model", _("Modèle inconnu : « %(model)s ».") % {"model": model_slug}
        ) from None
    return price_model_usage(
        model=model, input_tokens=input_tokens, output_tokens=output_tokens, images=images, at=at
    )
