"""A raw gateway event -> a priced candidate, or a rejection with its French message.

No database here: the keys, models and prices the batch refers to are loaded beforehand
(metering.context) and passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import AIModel
from catalog.pricing import Estimate, PriceBook, PricingError, price_model_usage

from ..periods import Month
from .rows import Key

CLOCK_SKEW = timedelta(minutes=5)
MAX_IDEMPOTENCY_KEY = 200


class Rejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Context:
    """What the batch's events refer to, loaded once per batch."""

    now: datetime
    keys: dict[str, Key | None]  # by raw secret
    models: dict[str, AIModel]  # by slug, the models the batch names
    prices: PriceBook


@dataclass
class Candidate:
    """A well-formed, priced event waiting for its allocation."""

    index: int
    key: Key
    model: AIModel
    idempotency_key: str
    fingerprint: str
    estimate: Estimate
    occurred_at: datetime
    pay_as_you_go: bool
    month: Month


def fingerprint(
    *,
    key_hash: str,
    model_slug: str,
    input_tokens: int,
    output_tokens: int,
    images: int,
    occurred_at: datetime | None,
) -> str:
    """SHA-256 of an event's normalised content; an omitted occurred_at is part of the content."""
    instant = occurred_at.astimezone(UTC).isoformat() if occurred_at else "-"
    content = f"{key_hash}|{model_slug}|{input_tokens}|{output_tokens}|{images}|{instant}"
    return hashlib.sha256(content.encode()).hexdigest()


def references(events: Iterable[object]) -> tuple[set[str], set[str]]:
    """The raw API keys and model slugs the events name, for loading the context."""
    raw_keys: set[str] = set()
    slugs: set[str] = set()
    for event in events:
        if isinstance(event, dict):
            if isinstance(event.get("api_key"), str):
                raw_keys.add(event["api_key"])
            # A NUL byte cannot reach PostgreSQL; _text rejects such an event.
            if isinstance(event.get("model"), str) and "\x00" not in event["model"]:
                slugs.add(event["model"])
    return raw_keys, slugs


def key_of(event: object) -> str | None:
    """The idempotency key to echo in the event's result, whatever the event holds."""
    if isinstance(event, dict) and isinstance(event.get("idempotency_key"), str):
        return event["idempotency_key"][:MAX_IDEMPOTENCY_KEY]
    return None


def _text(event: dict, name: str) -> str:
    value = event.get(name)
    if value is None or value == "":
        raise Rejected(f"« {name} » est obligatoire.")
    if not isinstance(value, str):
        raise Rejected(f"« {name} » doit être une chaîne de caractères.")
    if "\x00" in value:
        raise Rejected(f"« {name} » contient un caractère nul.")
    return value


def _occurred_at(event: dict, now: datetime) -> datetime | None:
    value = event.get("occurred_at")
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected("« occurred_at » doit être une date ISO 8601 (2026-11-10T12:00:00Z).")
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise Rejected(f"« occurred_at » n'est pas une date ISO 8601 valide : « {value[:40]} ».")
    if timezone.is_naive(moment):
        raise Rejected("« occurred_at » doit indiquer son fuseau horaire (Z ou +01:00).")
    if moment > now + CLOCK_SKEW:
        raise Rejected("« occurred_at » est dans le futur.")
    return moment


_COUNT_FIELDS = {
    AIModel.Kind.TEXT: ("input_tokens", "output_tokens"),
    AIModel.Kind.IMAGE: ("images",),
}


def parse(index: int, event: object, context: Context) -> Candidate:
    """The event as a candidate for charging; raises Rejected with the reason."""
    if not isinstance(event, dict):
        raise Rejected("Un événement doit être un objet JSON.")
    idempotency_key = _text(event, "idempotency_key")
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise Rejected(f"« idempotency_key » dépasse {MAX_IDEMPOTENCY_KEY} caractères.")
    raw_key = _text(event, "api_key")
    key = context.keys.get(raw_key)
    if key is None:
        raise Rejected("Clé API inconnue.")
    slug = _text(event, "model")
    model = context.models.get(slug)
    if model is None:
        raise Rejected(f"Modèle inconnu : « {slug[:60]} ».")
    for name in _COUNT_FIELDS[model.kind]:
        if event.get(name) is None:
            kind = "texte" if model.is_text else "image"
            raise Rejected(f"« {name} » est obligatoire pour un modèle {kind}.")
    given_at = _occurred_at(event, context.now)
    occurred_at = given_at or context.now
    if key.revoked_at is not None and occurred_at >= key.revoked_at:
        raise Rejected("Clé API révoquée.")
    month = Month.of(occurred_at)
    # A period is never opened for a month the account did not have, nor for next month
    # ahead of midnight (clock skew): it would take that month's credits and fee too early.
    if key.started_at is not None and month < Month.of(key.started_at):
        raise Rejected("« occurred_at » tombe avant l'ouverture du compte.")
    if month > Month.of(context.now):
        raise Rejected(
            "« occurred_at » tombe dans le mois prochain : renvoyez l'événement après minuit "
            "(heure d'Alger)."
        )
    try:
        estimate = price_model_usage(
            model=model,
            input_tokens=event.get("input_tokens", 0),
            output_tokens=event.get("output_tokens", 0),
            images=event.get("images", 0),
            at=occurred_at,
            price_book=context.prices,
        )
    except PricingError as error:
        raise Rejected(error.message) from None
    return Candidate(
        index=index,
        key=key,
        model=model,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint(
            key_hash=key.key_hash,
            model_slug=model.slug,
            input_tokens=estimate.input_tokens,
            output_tokens=estimate.output_tokens,
            images=estimate.images,
            occurred_at=given_at,
        ),
        estimate=estimate,
        occurred_at=occurred_at,
        pay_as_you_go=False,
        month=month,
    )
