"""A raw gateway event -> a priced candidate, or a rejection with its French message.

No database here: the keys, models and prices the batch refers to are loaded beforehand
(metering.context) and passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import AIModel
from catalog.pricing import Estimate, PriceBook, PricingError, price_model_usage, quantity_check
from iafactory.formatting import date_label

from ..periods import BILLING_TZ, Month
from .rows import Key

CLOCK_SKEW = timedelta(minutes=5)
MAX_IDEMPOTENCY_KEY = 200
# Longer texts cannot name a key or a model: they are refused before any lookup.
MAX_API_KEY = 200
MAX_MODEL_SLUG = 60
MAX_DATE_TEXT = 64
# PostgreSQL refuses a time zone offset from ±16:00 (real zones lie within -12:00..+14:00).
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
# Billing has no months before 2000 (Month refuses them, as the customer API's filters do).
EARLIEST = datetime(2000, 1, 1, tzinfo=BILLING_TZ)
MAX_EVENT_COST = Decimal(1_000_000)
"""The most one event may cost, in DZD: far above any real call (a million tokens of the
dearest model cost a few thousand DZD), so only a faulty or hostile report meets it."""


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
    month: Month = field(init=False)  # the billing month of `now`
    _months: dict[datetime, Month] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.month = Month.of(self.now)

    def month_of(self, moment: datetime) -> Month:
        """Month.of, remembered for the batch (its events share a few instants)."""
        month = self._months.get(moment)
        if month is None:
            month = self._months[moment] = Month.of(moment)
        return month


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
    payg_cap: Decimal | None = None  # the ceiling in force at occurred_at (None: none)


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
            # What _text would reject never reaches the database (NUL, surrogates, …).
            if _storable(event.get("api_key"), MAX_API_KEY):
                raw_keys.add(event["api_key"])
            if _storable(event.get("model"), MAX_MODEL_SLUG):
                slugs.add(event["model"])
    return raw_keys, slugs


def key_of(event: object) -> str | None:
    """The idempotency key echoed in the answer: None when the JSON answer could not hold it."""
    if isinstance(event, dict):
        return printable(event.get("idempotency_key"), MAX_IDEMPOTENCY_KEY)
    return None


def printable(value: object, length: int) -> str | None:
    if isinstance(value, str) and not _SURROGATE.search(value):
        return value[:length]
    return None


# A lone surrogate cannot be encoded (UTF-8, PostgreSQL, the JSON answer); other control
# characters are no part of a key, a model name or a date.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Either of them: one search on the hot path, the precise one only to word a rejection.
_UNFIT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _storable(value: object, max_length: int) -> bool:
    """A text that may be looked up in the database (hashed, compared) without error."""
    return isinstance(value, str) and 0 < len(value) <= max_length and not _UNFIT.search(value)


def api_key_storable(raw_key: str) -> bool:
    """Whether a raw key can be hashed and looked up (no surrogate, control char, 10 KB…)."""
    return _storable(raw_key, MAX_API_KEY)


def _text(event: dict, name: str, max_length: int) -> str:
    value = event.get(name)
    if value is None or value == "":
        raise Rejected(f"« {name} » est obligatoire.")
    if not isinstance(value, str):
        raise Rejected(f"« {name} » doit être une chaîne de caractères.")
    if 0 < len(value) <= max_length and not _UNFIT.search(value) and not value.isspace():
        return value
    if "\x00" in value:
        raise Rejected(f"« {name} » contient un caractère nul.")
    if _SURROGATE.search(value):
        raise Rejected(f"« {name} » contient un caractère Unicode invalide (surrogate isolé).")
    if _CONTROL.search(value):
        raise Rejected(f"« {name} » contient un caractère de contrôle.")
    if not value.strip():
        raise Rejected(f"« {name} » ne contient que des espaces.")
    if len(value) > max_length:
        raise Rejected(f"« {name} » dépasse {max_length} caractères.")
    return value


_ISO_HINT = "« occurred_at » doit être une date ISO 8601 (2026-11-10T12:00:00Z)."


def _occurred_at(event: dict, now: datetime) -> datetime | None:
    """The event's instant, in UTC; None when omitted (then: when received)."""
    value = event.get("occurred_at")
    if value is None:
        return None
    if not isinstance(value, str) or not _storable(value, MAX_DATE_TEXT):
        raise Rejected(_ISO_HINT)
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise Rejected(f"« occurred_at » n'est pas une date ISO 8601 valide : « {value[:40]} ».")
    if timezone.is_naive(moment):
        raise Rejected("« occurred_at » doit indiquer son fuseau horaire (Z ou +01:00).")
    if abs(moment.utcoffset()) > MAX_UTC_OFFSET:
        raise Rejected("« occurred_at » : décalage horaire hors limites (au plus ±15:59).")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise Rejected("« occurred_at » est hors de la plage des dates possibles.") from None
    if moment > now + CLOCK_SKEW:
        raise Rejected("« occurred_at » est dans le futur.")
    if moment < EARLIEST:
        raise Rejected("« occurred_at » est antérieur au 1er janvier 2000 (heure d'Alger).")
    return moment


_COUNT_FIELDS = {
    AIModel.Kind.TEXT: ("input_tokens", "output_tokens"),
    AIModel.Kind.IMAGE: ("images",),
}


def parse(index: int, event: object, context: Context) -> Candidate:
    """The event as a candidate for charging; raises Rejected with the reason."""
    if not isinstance(event, dict):
        raise Rejected("Un événement doit être un objet JSON.")
    idempotency_key = _text(event, "idempotency_key", MAX_IDEMPOTENCY_KEY)
    raw_key = _text(event, "api_key", MAX_API_KEY)
    key = context.keys.get(raw_key)
    if key is None:
        raise Rejected("Clé API inconnue.")
    slug = _text(event, "model", MAX_MODEL_SLUG)
    model = context.models.get(slug)
    if model is None:
        raise Rejected(f"Modèle inconnu : « {slug[:60]} ».")
    for name in _COUNT_FIELDS[model.kind]:
        if event.get(name) is None:
            kind = "texte" if model.is_text else "image"
            raise Rejected(f"« {name} » est obligatoire pour un modèle {kind}.")
    given_at = _occurred_at(event, context.now)
    occurred_at = given_at or context.now
    if model.withdrawn_at is not None and occurred_at >= model.withdrawn_at:
        local = timezone.localtime(model.withdrawn_at, BILLING_TZ)
        raise Rejected(
            f"Modèle retiré le {date_label(local)} à {local:%H:%M} (heure d'Alger) : "
            "l'usage survenu après n'est plus accepté."
        )
    if key.revoked_at is not None and occurred_at >= key.revoked_at:
        raise Rejected("Clé API révoquée.")
    if key.expires_at is not None and occurred_at >= key.expires_at:
        raise Rejected("Clé API expirée.")
    month = context.month if given_at is None else Month.of(occurred_at)
    # A period is never opened for a month the account did not have, nor for next month
    # ahead of midnight (clock skew): it would take that month's credits and fee too early.
    if key.started_at is not None and month < context.month_of(key.started_at):
        raise Rejected("« occurred_at » tombe avant l'ouverture du compte.")
    if month > context.month:
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
        quantity_check(estimate)
    except PricingError as error:
        raise Rejected(error.message) from None
    if estimate.cost > MAX_EVENT_COST:
        raise Rejected(
            f"Coût de l'événement hors limites : {estimate.cost.normalize():f} DZD, "
            f"au plus {MAX_EVENT_COST} DZD par événement."
        )
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
