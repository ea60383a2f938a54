"""Reads of the public catalog, shared by the Tarifs page, the API docs page and the API.

`tarifs_catalog(now)` returns plain, picklable data (no model instances, no querysets) so it can
live in Django's cache. The cached value is resolved for an instant: today's prices and the
announced ones. It is therefore only valid until the next announced price change, and is
dropped on any staff edit (see catalog/signals.py).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache

from .models import AIModel, FaqEntry, ModelPrice, Plan
from .pricing import MILLION, Price, PriceBook
from .terms import sales_terms

CACHE_GENERATION_KEY = "catalog:tarifs:generation"
CACHE_TIMEOUT = 60 * 60

# The worked examples of "Comprendre la facturation" (source page, section 3).
EXAMPLE_MODEL_SLUG = "gpt-4.1"
EXAMPLE_INPUT_TOKENS = 500
EXAMPLE_OUTPUT_TOKENS = 1500
EXAMPLE_IMAGES = 4


@dataclass(frozen=True)
class CatalogPlan:
    name: str
    slug: str
    included_credits: Decimal
    monthly_fee: Decimal
    description: str


@dataclass(frozen=True)
class CatalogModel:
    slug: str
    name: str
    kind: str
    description: str
    current: Price | None
    upcoming: tuple[Price, ...]

    @property
    def is_text(self) -> bool:
        return self.kind == AIModel.Kind.TEXT

    @property
    def kind_label(self) -> str:
        """« Texte » / « Image » in the active language (not cached with the snapshot)."""
        return str(AIModel.Kind(self.kind).label)


@dataclass(frozen=True)
class FaqItem:
    question: str
    answer: str


@dataclass(frozen=True)
class TextExample:
    model: CatalogModel
    input_tokens: int
    output_tokens: int
    input_millions: Decimal
    output_millions: Decimal
    total_tokens: int
    total_millions: Decimal
    input_cost: Decimal
    output_cost: Decimal
    cost: Decimal


@dataclass(frozen=True)
class ImageExample:
    model: CatalogModel
    images: int
    cost: Decimal


@dataclass(frozen=True)
class TarifsCatalog:
    # The snapshot is true from the latest price already in effect to the next announced one.
    valid_from: datetime | None
    valid_until: datetime | None
    plans: tuple[CatalogPlan, ...]
    text_models: tuple[CatalogModel, ...]
    image_models: tuple[CatalogModel, ...]
    faq: tuple[FaqItem, ...]
    tva_rate: Decimal
    price_notice_days: int
    text_example: TextExample | None = None
    image_example: ImageExample | None = None
    announcements: tuple[tuple[CatalogModel, Price], ...] = field(default=())

    @property
    def models(self) -> tuple[CatalogModel, ...]:
        return self.text_models + self.image_models

    def model(self, slug: str) -> CatalogModel | None:
        return next((m for m in self.models if m.slug == slug), None)


def _text_example(models: tuple[CatalogModel, ...]) -> TextExample | None:
    priced = [m for m in models if m.current is not None]
    model = next((m for m in priced if m.slug == EXAMPLE_MODEL_SLUG), None) or next(
        iter(priced), None
    )
    if model is None:
        return None
    price = model.current
    input_cost = price.cost(input_tokens=EXAMPLE_INPUT_TOKENS)
    output_cost = price.cost(output_tokens=EXAMPLE_OUTPUT_TOKENS)
    total_tokens = EXAMPLE_INPUT_TOKENS + EXAMPLE_OUTPUT_TOKENS
    return TextExample(
        model=model,
        input_tokens=EXAMPLE_INPUT_TOKENS,
        output_tokens=EXAMPLE_OUTPUT_TOKENS,
        input_millions=Decimal(EXAMPLE_INPUT_TOKENS) / MILLION,
        output_millions=Decimal(EXAMPLE_OUTPUT_TOKENS) / MILLION,
        total_tokens=total_tokens,
        total_millions=Decimal(total_tokens) / MILLION,
        input_cost=input_cost,
        output_cost=output_cost,
        cost=price.cost(input_tokens=EXAMPLE_INPUT_TOKENS, output_tokens=EXAMPLE_OUTPUT_TOKENS),
    )


def _image_example(models: tuple[CatalogModel, ...]) -> ImageExample | None:
    model = next((m for m in models if m.current is not None), None)
    if model is None:
        return None
    return ImageExample(
        model=model, images=EXAMPLE_IMAGES, cost=model.current.cost(images=EXAMPLE_IMAGES)
    )


def tarifs_catalog_build(now: datetime) -> TarifsCatalog:
    """Read the whole public catalog from the database: one query per table."""
    plans = tuple(
        CatalogPlan(
            name=plan.name,
            slug=plan.slug,
            included_credits=plan.included_credits,
            monthly_fee=plan.monthly_fee,
            description=plan.description,
        )
        for plan in Plan.objects.filter(is_active=True)
    )
    ai_models = list(AIModel.objects.filter(is_active=True))
    book = PriceBook(ModelPrice.objects.filter(model__is_active=True))
    models = []
    for ai_model in ai_models:
        models.append(
            CatalogModel(
                slug=ai_model.slug,
                name=ai_model.name,
                kind=ai_model.kind,
                description=ai_model.description,
                current=book.price_at(ai_model.pk, now),
                upcoming=tuple(book.upcoming(ai_model.pk, now)),
            )
        )
    text_models = tuple(m for m in models if m.is_text)
    image_models = tuple(m for m in models if not m.is_text)
    upcoming = sorted(
        ((m, price) for m in models for price in m.upcoming), key=lambda mp: mp[1].effective_at
    )
    in_effect = [m.current.effective_at for m in models if m.current is not None]
    terms = sales_terms()
    return TarifsCatalog(
        valid_from=max(in_effect, default=None),
        valid_until=upcoming[0][1].effective_at if upcoming else None,
        plans=plans,
        text_models=text_models,
        image_models=image_models,
        faq=tuple(
            FaqItem(question=entry.question, answer=entry.answer)
            for entry in FaqEntry.objects.filter(is_published=True)
        ),
        tva_rate=terms.tva_rate,
        price_notice_days=terms.price_notice_days,
        text_example=_text_example(text_models),
        image_example=_image_example(image_models),
        announcements=tuple(upcoming),
    )


def _generation() -> str:
    generation = cache.get(CACHE_GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex
        # add(): two processes starting cold agree on the first generation.
        if not cache.add(CACHE_GENERATION_KEY, generation, timeout=None):
            generation = cache.get(CACHE_GENERATION_KEY) or generation
    return generation


def tarifs_catalog(now: datetime) -> TarifsCatalog:
    """The catalog as of `now`, from the cache when a snapshot still valid at `now` is there."""
    key = f"catalog:tarifs:{_generation()}"
    snapshot = cache.get(key)
    if (
        isinstance(snapshot, TarifsCatalog)
        and (snapshot.valid_from is None or snapshot.valid_from <= now)
        and (snapshot.valid_until is None or now < snapshot.valid_until)
    ):
        return snapshot
    snapshot = tarifs_catalog_build(now)
    cache.set(key, snapshot, tarifs_catalog_timeout(snapshot, now))
    return snapshot


def tarifs_catalog_timeout(snapshot: TarifsCatalog, now: datetime) -> int:
    """Seconds to cache `snapshot`: never past the next announced price change.

    The validity check on read covers a cache server whose clock disagrees with ours.
    """
    if snapshot.valid_until is None:
        return CACHE_TIMEOUT
    seconds = math.ceil((snapshot.valid_until - now).total_seconds())
    return max(1, min(CACHE_TIMEOUT, seconds))


def tarifs_catalog_invalidate() -> None:
    """Start a new cache generation: snapshots read before a change are never served again."""
    cache.set(CACHE_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
