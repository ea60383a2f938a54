"""The batch's context: its keys, models and prices, read in one round trip (values, not model
instances: hot path)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from accounts.keys import hash_secret
from catalog.models import AIModel, ModelPrice
from catalog.pricing import PriceBook

from .ledger import Ledger
from .parse import Context, references
from .rows import Key


def context_load(*, events: Sequence[object], now: datetime, ledger: Ledger) -> Context:
    raw_keys, slugs = references(events)
    hashes = {hash_secret(raw): raw for raw in raw_keys}
    keys: dict[str, Key | None] = dict.fromkeys(raw_keys)
    key_rows, price_rows = ledger.references(list(hashes), list(slugs))
    for key in key_rows:
        keys[hashes[key.key_hash]] = key
    # A model without any price cannot be charged: it is as unknown as a wrong name.
    models: dict[str, AIModel] = {}
    prices = []
    for row in price_rows:
        models.setdefault(
            row.slug,
            AIModel(pk=row.model_id, slug=row.slug, kind=row.kind, withdrawn_at=row.withdrawn_at),
        )
        prices.append(
            ModelPrice(
                model_id=row.model_id,
                effective_at=row.effective_at,
                input_per_million=row.input_per_million,
                output_per_million=row.output_per_million,
                per_image=row.per_image,
            )
        )
    return Context(now=now, keys=keys, models=models, prices=PriceBook(prices))
