"""Metering: the gateway's usage events charged exactly once, and its "may this key spend?".

A batch goes through three steps, so that the only work done under a lock is the allocation:

1. Outside any transaction: parse and price every event (one query for the keys with their
   subscriptions, one for the prices; the pay-as-you-go history only of accounts that switched
   it after their event) and, for batches above OPTIMISTIC_MAX events, read which of their
   idempotency keys are already recorded.
2. One short transaction: lock the batch's periods in pk order (``FOR NO KEY UPDATE``),
   allocate each new event's cost to credits, overage or write-off in request order, insert the
   events in one statement and update the periods in one more. A missing period is created
   outside the locks (``period_get_or_create`` locks the subscription) and the step rerun.
3. After commit: the keys' ``last_used_at`` and the credit alert e-mails.

The unique constraint (account, idempotency_key) is what makes an event count once, never the
read: an insert that meets a row recorded meanwhile fails (a small batch's
``ON CONFLICT DO NOTHING`` reports it), the transaction rolls back and the step is rerun with
the keys read under the locks, where the other row is seen as recorded.
SQLite has no row locks, but its write transactions are serialised (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.keys import LAST_USED_RESOLUTION, hash_secret
from accounts.models import Account, ApiKey
from accounts.selectors import api_key_lookup, may_spend
from catalog.models import AIModel, ModelPrice
from catalog.pricing import Estimate, PriceBook, PricingError, price_model_usage, quantity_check

from ..models import BillingPeriod, PayAsYouGoChange, PlanChange, Subscription, UsageEvent
from ..money import ZERO
from ..periods import BILLING_TZ, Month, date_label
from .alerts import credit_alerts_check
from .periods import current_period, period_get_or_create, subscription_get_or_create

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
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
MAX_PERIOD_USAGE = Decimal(10_000_000_000)
"""The most an account's events may cost in one month (consumed + overage + written off).

Why it fits the invoice: amounts are stored with AMOUNT_DIGITS (14 digits, 2 decimals: below
10¹² DZD). A month's invoice is its fees plus its overage, and the overage is at most this
bound, 10¹⁰; even with fees of 10⁹ and a TVA rate of 100 %, the TTC stays below
2.2 × 10¹⁰, fifty times under the columns' limit. The ledger columns (LEDGER_DIGITS, 18
integer digits) hold it many times over. An event that would push its period beyond the
bound is rejected alone, with a message; the others are still charged. With MAX_EVENT_COST
a month holds at least 10 000 events of the maximum cost before it is reached.
"""
# A collision with a concurrent insert, or a deadlock, is retried this many times in all.
ATTEMPTS = 5
# Up to this many events, a batch is inserted first and checked for duplicates after.
OPTIMISTIC_MAX = 50

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"


class BatchTooLarge(ValueError):
    pass


@dataclass
class EventResult:
    idempotency_key: str | None
    status: str = REJECTED
    cost: Decimal | None = None
    error: str | None = None


@dataclass
class BatchResult:
    results: list[EventResult]

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def accepted(self) -> int:
        return self.count(ACCEPTED)

    @property
    def duplicates(self) -> int:
        return self.count(DUPLICATE)

    @property
    def rejected(self) -> int:
        return self.count(REJECTED)


@dataclass(frozen=True)
class _Key:
    """What the batch needs of a customer key and its account's subscription."""

    pk: int
    key_hash: str
    account_id: int
    revoked_at: datetime | None
    last_used_at: datetime | None
    pay_as_you_go: bool
    pay_as_you_go_changed_at: datetime | None
    started_at: datetime | None  # the account's subscription: no usage in months before it


@dataclass
class _Candidate:
    """A well-formed, priced event waiting for its allocation."""

    index: int
    key: _Key
    model: AIModel
    idempotency_key: str
    fingerprint: str
    estimate: Estimate
    occurred_at: datetime
    pay_as_you_go: bool
    month: Month


class _Collision(Exception):
    """An optimistic insert met an idempotency key already recorded."""


class _Rejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


class PaygHistory:
    """Whether pay-as-you-go was on at an instant, from the account's recorded switches.

    Every account starts with it off (account_create), so an instant before the first recorded
    switch is off; an account with no switch recorded at all follows its subscription.
    """

    def __init__(self, changes: Sequence[tuple[datetime, bool]], current: bool) -> None:
        self._instants = [changed_at for changed_at, _ in changes]
        self._states = [enabled for _, enabled in changes]
        self._current = current

    def at(self, moment: datetime) -> bool:
        if not self._instants:
            return self._current
        index = bisect.bisect_right(self._instants, moment) - 1
        return self._states[index] if index >= 0 else False


def payg_histories(
    account_ids: Sequence[int], until: datetime, current: dict[int, bool]
) -> dict[int, PaygHistory]:
    """Each account's switches up to `until`; `current` is its subscription's state now."""
    changes: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
    rows = PayAsYouGoChange.objects.filter(
        account_id__in=account_ids, changed_at__lte=until
    ).order_by("account_id", "changed_at", "pk")
    for account_id, changed_at, enabled in rows.values_list("account_id", "changed_at", "enabled"):
        changes[account_id].append((changed_at, enabled))
    return {
        account_id: PaygHistory(changes.get(account_id, ()), current.get(account_id, False))
        for account_id in account_ids
    }


# --- parsing ---------------------------------------------------------------------------------


# A lone surrogate cannot be encoded (UTF-8, PostgreSQL, the JSON answer); other control
# characters are no part of a key, a model name or a date.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _storable(value: object, max_length: int) -> bool:
    """A text that may be looked up in the database (hashed, compared) without error."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and not _SURROGATE.search(value)
        and not _CONTROL.search(value)
    )


def _text(event: dict, name: str, max_length: int) -> str:
    value = event.get(name)
    if value is None or value == "":
        raise _Rejected(f"« {name} » est obligatoire.")
    if not isinstance(value, str):
        raise _Rejected(f"« {name} » doit être une chaîne de caractères.")
    if "\x00" in value:
        raise _Rejected(f"« {name} » contient un caractère nul.")
    if _SURROGATE.search(value):
        raise _Rejected(f"« {name} » contient un caractère Unicode invalide (surrogate isolé).")
    if _CONTROL.search(value):
        raise _Rejected(f"« {name} » contient un caractère de contrôle.")
    if not value.strip():
        raise _Rejected(f"« {name} » ne contient que des espaces.")
    if len(value) > max_length:
        raise _Rejected(f"« {name} » dépasse {max_length} caractères.")
    return value


_ISO_HINT = "« occurred_at » doit être une date ISO 8601 (2026-11-10T12:00:00Z)."


def _occurred_at(event: dict, now: datetime) -> datetime | None:
    """The event's instant, in UTC; None when omitted (then: when received)."""
    value = event.get("occurred_at")
    if value is None:
        return None
    if not isinstance(value, str) or not _storable(value, MAX_DATE_TEXT):
        raise _Rejected(_ISO_HINT)
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise _Rejected(f"« occurred_at » n'est pas une date ISO 8601 valide : « {value[:40]} ».")
    if timezone.is_naive(moment):
        raise _Rejected("« occurred_at » doit indiquer son fuseau horaire (Z ou +01:00).")
    if abs(moment.utcoffset()) > MAX_UTC_OFFSET:
        raise _Rejected("« occurred_at » : décalage horaire hors limites (au plus ±15:59).")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise _Rejected("« occurred_at » est hors de la plage des dates possibles.") from None
    if moment > now + CLOCK_SKEW:
        raise _Rejected("« occurred_at » est dans le futur.")
    if moment < EARLIEST:
        raise _Rejected("« occurred_at » est antérieur au 1er janvier 2000 (heure d'Alger).")
    return moment


_COUNT_FIELDS = {
    AIModel.Kind.TEXT: ("input_tokens", "output_tokens"),
    AIModel.Kind.IMAGE: ("images",),
}


@dataclass
class _Context:
    """What the batch's events refer to, loaded once per batch."""

    now: datetime
    keys: dict[str, _Key | None]  # by raw secret
    models: dict[str, AIModel]  # by slug, the models the batch names
    prices: PriceBook


# The hot path's reads as plain SQL on PostgreSQL: compiling the equivalent ORM query costs
# three times as long as running it. Other databases use the ORM (its type conversions).
_PERIOD_FIELDS = (
    "id",
    "account_id",
    "month",
    "plan_id",
    "included_credits",
    "consumed",
    "overage",
    "written_off",
    "status",
)
_SQL = {
    "keys": """
        SELECT k.key_hash, k.id, k.account_id, k.revoked_at, k.last_used_at,
               s.pay_as_you_go, s.pay_as_you_go_changed_at, s.started_at
        FROM accounts_apikey k LEFT JOIN billing_subscription s ON s.account_id = k.account_id
        WHERE k.key_hash = ANY(%s)
    """,
    "prices": """
        SELECT p.model_id, m.slug, m.kind, m.withdrawn_at, p.effective_at,
               p.input_per_million, p.output_per_million, p.per_image
        FROM catalog_modelprice p JOIN catalog_aimodel m ON m.id = p.model_id
        WHERE m.slug = ANY(%s)
    """,
    # The subscriptions' pay-as-you-go switch comes along, read under the same locks.
    "lock_periods": f"""
        SELECT {", ".join("p." + field for field in _PERIOD_FIELDS)},
               s.pay_as_you_go, s.pay_as_you_go_changed_at
        FROM billing_billingperiod p
        LEFT JOIN billing_subscription s ON s.account_id = p.account_id
        WHERE p.account_id = ANY(%s) AND p.month = ANY(%s)
        ORDER BY p.id FOR NO KEY UPDATE OF p
    """,  # noqa: S608 (constant column names)
}


def _fetch(name: str, params: list, orm_rows) -> list[tuple]:
    if connection.vendor != "postgresql":
        return list(orm_rows())
    with connection.cursor() as cursor:
        cursor.execute(_SQL[name], params)
        return cursor.fetchall()


def _load_context(events: Sequence[object], now: datetime) -> _Context:
    """Keys and prices of the batch in two queries (values, not model instances: hot path)."""
    raw_keys: set[str] = set()
    slugs: set[str] = set()
    for event in events:
        if isinstance(event, dict):
            # What _text would reject never reaches the database (NUL, surrogates, …).
            if _storable(event.get("api_key"), MAX_API_KEY):
                raw_keys.add(event["api_key"])
            if _storable(event.get("model"), MAX_MODEL_SLUG):
                slugs.add(event["model"])
    hashes = {hash_secret(raw): raw for raw in raw_keys}
    keys: dict[str, _Key | None] = dict.fromkeys(raw_keys)
    for key_hash, *fields in _fetch(
        "keys",
        [list(hashes)],
        lambda: ApiKey.objects.filter(key_hash__in=list(hashes)).values_list(
            "key_hash",
            "pk",
            "account_id",
            "revoked_at",
            "last_used_at",
            "account__subscription__pay_as_you_go",
            "account__subscription__pay_as_you_go_changed_at",
            "account__subscription__started_at",
        ),
    ):
        pk, account_id, revoked_at, last_used_at, payg, payg_changed_at, started_at = fields
        keys[hashes[key_hash]] = _Key(
            pk,
            key_hash,
            account_id,
            revoked_at,
            last_used_at,
            bool(payg),
            payg_changed_at,
            started_at,
        )
    # A model without any price cannot be charged: it is as unknown as a wrong name.
    models: dict[str, AIModel] = {}
    prices = []
    for model_id, slug, kind, withdrawn_at, *price in _fetch(
        "prices",
        [list(slugs)],
        lambda: ModelPrice.objects.filter(model__slug__in=list(slugs)).values_list(
            "model_id",
            "model__slug",
            "model__kind",
            "model__withdrawn_at",
            "effective_at",
            "input_per_million",
            "output_per_million",
            "per_image",
        ),
    ):
        models.setdefault(
            slug, AIModel(pk=model_id, slug=slug, kind=kind, withdrawn_at=withdrawn_at)
        )
        effective_at, input_price, output_price, image_price = price
        prices.append(
            ModelPrice(
                model_id=model_id,
                effective_at=effective_at,
                input_per_million=input_price,
                output_per_million=output_price,
                per_image=image_price,
            )
        )
    return _Context(now=now, keys=keys, models=models, prices=PriceBook(prices))


def _parse(index: int, event: object, context: _Context) -> _Candidate:
    if not isinstance(event, dict):
        raise _Rejected("Un événement doit être un objet JSON.")
    idempotency_key = _text(event, "idempotency_key", MAX_IDEMPOTENCY_KEY)
    raw_key = _text(event, "api_key", MAX_API_KEY)
    key = context.keys.get(raw_key)
    if key is None:
        raise _Rejected("Clé API inconnue.")
    slug = _text(event, "model", MAX_MODEL_SLUG)
    model = context.models.get(slug)
    if model is None:
        raise _Rejected(f"Modèle inconnu : « {slug[:60]} ».")
    for name in _COUNT_FIELDS[model.kind]:
        if event.get(name) is None:
            kind = "texte" if model.is_text else "image"
            raise _Rejected(f"« {name} » est obligatoire pour un modèle {kind}.")
    given_at = _occurred_at(event, context.now)
    occurred_at = given_at or context.now
    if model.withdrawn_at is not None and occurred_at >= model.withdrawn_at:
        local = timezone.localtime(model.withdrawn_at, BILLING_TZ)
        raise _Rejected(
            f"Modèle retiré le {date_label(local)} à {local:%H:%M} (heure d'Alger) : "
            "l'usage survenu après n'est plus accepté."
        )
    if key.revoked_at is not None and occurred_at >= key.revoked_at:
        raise _Rejected("Clé API révoquée.")
    month = Month.of(occurred_at)
    # A period is never opened for a month the account did not have, nor for next month
    # ahead of midnight (clock skew): it would take that month's credits and fee too early.
    if key.started_at is not None and month < Month.of(key.started_at):
        raise _Rejected("« occurred_at » tombe avant l'ouverture du compte.")
    if month > Month.of(context.now):
        raise _Rejected(
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
        raise _Rejected(error.message) from None
    if estimate.cost > MAX_EVENT_COST:
        raise _Rejected(
            f"Coût de l'événement hors limites : {estimate.cost.normalize():f} DZD, "
            f"au plus {MAX_EVENT_COST} DZD par événement."
        )
    return _Candidate(
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


# --- the batch -------------------------------------------------------------------------------


def usage_record_batch(*, events: Sequence[object], now: datetime | None = None) -> BatchResult:
    """Record a gateway batch: each event accepted, duplicate or rejected, in request order.

    Not one atomic block: see the module docstring for the three steps and why.
    """
    result = _record_batch(events, now)
    if result.rejected:
        _log_rejections(events, result)
    return result


# At most this many rejected events are detailed in the batch's log line.
LOGGED_REJECTIONS = 20


def _log_rejections(events: Sequence[object], result: BatchResult) -> None:
    """One structured line per batch; keys appear only by their visible prefix."""
    rejected = []
    reasons: dict[str, int] = defaultdict(int)
    for event, outcome in zip(events, result.results, strict=True):
        if outcome.status != REJECTED:
            continue
        reasons[outcome.error or ""] += 1
        if len(rejected) < LOGGED_REJECTIONS:
            detail = event if isinstance(event, dict) else {}
            api_key = detail.get("api_key")
            model = detail.get("model")
            rejected.append(
                {
                    "idempotency_key": outcome.idempotency_key,
                    "key_prefix": _printable(api_key, 12),
                    "model": _printable(model, 60),
                    "error": outcome.error,
                }
            )
    logger.warning(
        "usage events rejected: %d of %d",
        result.rejected,
        len(events),
        extra={
            "event": "usage.rejected",
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            "reasons": dict(reasons),
            "rejected_events": rejected,
        },
    )


def _record_batch(events: Sequence[object], now: datetime | None) -> BatchResult:
    if len(events) > MAX_BATCH:
        raise BatchTooLarge(f"Au plus {MAX_BATCH} événements par requête.")
    now = now or timezone.now()
    results = [EventResult(idempotency_key=_key_of(event)) for event in events]
    if not events:
        return BatchResult(results)

    context = _load_context(events, now)
    candidates: list[_Candidate] = []
    for index, event in enumerate(events):
        try:
            candidate = _parse(index, event, context)
        except _Rejected as rejection:
            results[index].error = rejection.message
            continue
        candidates.append(candidate)
    if not candidates:
        return BatchResult(results)

    keys = {c.key.account_id: c.key for c in candidates}
    histories = _payg_histories(candidates, keys)
    for candidate in candidates:
        candidate.pay_as_you_go = histories[candidate.key.account_id].at(candidate.occurred_at)

    # Small batches skip the read of already-recorded keys: the insert reports collisions
    # (ON CONFLICT DO NOTHING RETURNING) and a collision sends the batch down the careful path.
    # Large ones read them before taking the locks, to hold the locks for less time; a key
    # recorded meanwhile by another request makes the insert fail, and the retry reads them
    # again under the locks.
    optimistic = len(candidates) <= OPTIMISTIC_MAX
    recorded = None if optimistic else _recorded(candidates)
    attempt = 0
    while True:
        try:
            with transaction.atomic():
                missing = _charge(
                    candidates, results, now, optimistic=optimistic, recorded=recorded
                )
        except (IntegrityError, OperationalError, _Collision) as error:
            if not isinstance(error, _Collision):
                attempt += 1
                if not _is_transient(error) or attempt == ATTEMPTS:
                    raise
                logger.info("usage batch retried after %s (%d)", type(error).__name__, attempt)
            optimistic, recorded = False, None
            for candidate in candidates:
                results[candidate.index] = EventResult(idempotency_key=candidate.idempotency_key)
            continue
        if not missing:
            break
        # Created outside the period locks: period_get_or_create locks the subscription.
        owners = Account.objects.in_bulk({account_id for account_id, _ in missing})
        for account_id, month in missing:
            period_get_or_create(account=owners[account_id], month=month)

    _keys_mark_used(candidates, results, now)
    return BatchResult(results)


def _payg_histories(candidates: list[_Candidate], keys: dict[int, _Key]) -> dict[int, PaygHistory]:
    """Pay-as-you-go of each account over the batch's instants, querying the switches only of
    the accounts that changed it after their earliest event (the subscription records when its
    state last changed; the services write both together)."""
    earliest: dict[int, datetime] = {}
    for c in candidates:
        account_id = c.key.account_id
        if account_id not in earliest or c.occurred_at < earliest[account_id]:
            earliest[account_id] = c.occurred_at
    histories: dict[int, PaygHistory] = {}
    need_history = []
    for account_id, key in keys.items():
        changed_at = key.pay_as_you_go_changed_at
        if changed_at is None or changed_at <= earliest[account_id]:
            histories[account_id] = PaygHistory((), key.pay_as_you_go)
        else:
            need_history.append(account_id)
    if need_history:
        histories.update(
            payg_histories(
                need_history,
                max(c.occurred_at for c in candidates),
                {pk: keys[pk].pay_as_you_go for pk in need_history},
            )
        )
    return histories


def _keys_mark_used(candidates: list[_Candidate], results: list[EventResult], now: datetime):
    """last_used_at of the keys that were used, at most once a minute per key (a hot row)."""
    stale = {
        c.key.pk
        for c in candidates
        if results[c.index].status == ACCEPTED
        and (c.key.last_used_at is None or now - c.key.last_used_at >= LAST_USED_RESOLUTION)
    }
    if stale:
        ApiKey.objects.filter(pk__in=stale).update(last_used_at=now)


def _key_of(event: object) -> str | None:
    """The idempotency key echoed in the answer: None when the JSON answer could not hold it."""
    if isinstance(event, dict):
        return _printable(event.get("idempotency_key"), MAX_IDEMPOTENCY_KEY)
    return None


def _printable(value: object, length: int) -> str | None:
    if isinstance(value, str) and not _SURROGATE.search(value):
        return value[:length]
    return None


def _is_transient(error: Exception) -> bool:
    """A collision on the idempotency constraint, a deadlock or a serialization failure."""
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in {"23505", "40P01", "40001"}
    return isinstance(error, IntegrityError) and "UNIQUE" in str(error)


@dataclass
class _Running:
    """A locked period's totals while its events are allocated."""

    period: BillingPeriod
    consumed: Decimal
    overage: Decimal
    written_off: Decimal
    changed: bool = False

    @property
    def remaining(self) -> Decimal:
        return self.period.included_credits - self.consumed

    @property
    def usage(self) -> Decimal:
        """The cost of the period's events so far, whatever source covered it."""
        return self.consumed + self.overage + self.written_off


def _charge(
    candidates: list[_Candidate],
    results: list[EventResult],
    now: datetime,
    *,
    optimistic: bool,
    recorded: dict | None,
) -> set[tuple[int, Month]]:
    """Step 2, inside one transaction: lock, classify, allocate, insert, update.

    `recorded`: the batch's keys already in the database, read before the locks (None: read
    them now, under the locks). Returns the (account, month) periods that do not exist yet,
    having written nothing.
    """
    wanted = {(c.key.account_id, c.month) for c in candidates}
    periods: dict[tuple[int, Month], _Running] = {}
    locked, payg_now = _lock_periods(wanted)
    for period in locked:
        periods[(period.account_id, Month.of(period.month))] = _Running(
            period=period,
            consumed=period.consumed,
            overage=period.overage,
            written_off=period.written_off,
        )
    missing = wanted - periods.keys()
    if missing:
        return missing
    _payg_recheck(candidates, payg_now)
    if optimistic:
        existing = {}
    elif recorded is not None:
        existing = recorded
    else:
        existing = _recorded(candidates)
    first_in_batch: dict[tuple[int, str], _Candidate] = {}
    new_rows: list[tuple] = []
    for candidate in candidates:
        result = results[candidate.index]
        claim = (candidate.key.account_id, candidate.idempotency_key)
        if claim in existing:
            fp, cost = existing[claim]
            _same_content(result, fp == candidate.fingerprint, cost)
            continue
        first = first_in_batch.get(claim)
        if first is not None:
            if first.fingerprint == candidate.fingerprint and results[first.index].status in {
                ACCEPTED,
                DUPLICATE,
            }:
                _same_content(result, True, results[first.index].cost)
            elif first.fingerprint == candidate.fingerprint:
                result.error = results[first.index].error
            else:
                _same_content(result, False, None)
            continue
        first_in_batch[claim] = candidate
        running = periods[(candidate.key.account_id, candidate.month)]
        if running.period.status == BillingPeriod.Status.CLOSED:
            if optimistic:
                raise _Collision  # a replay of an event of that month is still a duplicate
            result.error = (
                f"La période {candidate.month} est clôturée : "
                "cet événement ne peut plus être facturé."
            )
            continue
        if running.usage + candidate.estimate.cost > MAX_PERIOD_USAGE:
            if optimistic:
                raise _Collision  # a replay of an event recorded before is still a duplicate
            result.error = (
                f"Plafond mensuel atteint : les événements du mois {candidate.month} "
                f"coûteraient plus de {MAX_PERIOD_USAGE} DZD ; cet événement est refusé."
            )
            continue
        new_rows.append(_allocate(candidate, running, now))
        result.status = ACCEPTED
        result.cost = candidate.estimate.cost

    if not new_rows:
        return set()
    # One order for every transaction's inserts, so that two of them never wait on each other
    # in a cycle over the unique index.
    new_rows.sort(key=lambda row: (row[0], row[4]))
    if optimistic:
        if _insert_events_new(new_rows) != len(new_rows):
            raise _Collision
    else:
        _insert_events(new_rows)
    changed = [running for running in periods.values() if running.changed]
    _periods_update(changed)
    for running in changed:
        credit_alerts_check(
            period=running.period,
            consumed_before=running.period.consumed,
            consumed_after=running.consumed,
        )
    return set()


def _payg_recheck(candidates: list[_Candidate], fresh: _PaygNow) -> None:
    """Under the period locks, catch a pay-as-you-go switch committed since the batch was read.

    payg_set takes the same period lock, so no switch can land between this read and the
    allocation.
    """
    used = {c.key.account_id: c.key.pay_as_you_go_changed_at for c in candidates}
    stale = [
        account_id
        for account_id, changed_at in used.items()
        if account_id in fresh and fresh[account_id][1] != changed_at
    ]
    if not stale:
        return
    histories = payg_histories(
        stale,
        max(c.occurred_at for c in candidates),
        {account_id: fresh[account_id][0] for account_id in stale},
    )
    for candidate in candidates:
        history = histories.get(candidate.key.account_id)
        if history is not None:
            candidate.pay_as_you_go = history.at(candidate.occurred_at)


def _periods_update(changed: list[_Running]) -> None:
    """Write the locked periods' new totals: absolute values, exact Decimals computed here
    (SQLite would add decimals as floats), in one statement on PostgreSQL."""
    if connection.vendor != "postgresql" or len(changed) == 1:
        for running in changed:
            BillingPeriod.objects.filter(pk=running.period.pk).update(
                consumed=running.consumed,
                overage=running.overage,
                written_off=running.written_off,
            )
        return
    table = connection.ops.quote_name(BillingPeriod._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET consumed = v.consumed, overage = v.overage, "  # noqa: S608
            "written_off = v.written_off FROM (SELECT * FROM unnest("
            "%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[])) "
            "AS v (id, consumed, overage, written_off) WHERE p.id = v.id",
            [
                [r.period.pk for r in changed],
                [r.consumed for r in changed],
                [r.overage for r in changed],
                [r.written_off for r in changed],
            ],
        )


_PaygNow = dict[int, tuple[bool, datetime | None]]


def _lock_periods(wanted: set[tuple[int, Month]]) -> tuple[list[BillingPeriod], _PaygNow]:
    """Lock the periods (FOR NO KEY UPDATE, in pk order so that batches never deadlock), and
    read each account's pay-as-you-go switch under those locks (payg_set takes them too)."""
    account_ids = sorted({account_id for account_id, _ in wanted})
    months = sorted({month.first_day for _, month in wanted})
    if connection.vendor != "postgresql":
        periods = list(
            BillingPeriod.objects.select_for_update(no_key=True)
            .filter(account_id__in=account_ids, month__in=months)
            .order_by("pk")
        )
        payg = Subscription.objects.filter(account_id__in=account_ids).values_list(
            "account_id", "pay_as_you_go", "pay_as_you_go_changed_at"
        )
        return periods, {account_id: (enabled, at) for account_id, enabled, at in payg}
    periods, payg_now = [], {}
    width = len(_PERIOD_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(_SQL["lock_periods"], [account_ids, months])
        for row in cursor:
            period = BillingPeriod(**dict(zip(_PERIOD_FIELDS, row[:width], strict=True)))
            periods.append(period)
            if row[width] is not None:
                payg_now[period.account_id] = (row[width], row[width + 1])
    return periods, payg_now


def _recorded(candidates: list[_Candidate]) -> dict[tuple[int, str], tuple[str, Decimal]]:
    """Fingerprint and cost of the batch's idempotency keys already in the database."""
    pairs = {(c.key.account_id, c.idempotency_key) for c in candidates}
    if connection.vendor == "postgresql":
        # Exact (account, key) pairs as two arrays: one bound parameter each, not 2 000.
        accounts, keys = zip(*pairs, strict=True)
        rows = UsageEvent.objects.raw(
            f"SELECT id, account_id, idempotency_key, fingerprint, cost "  # noqa: S608
            f"FROM {UsageEvent._meta.db_table} "
            "WHERE (account_id, idempotency_key) IN "
            "(SELECT * FROM unnest(%s::bigint[], %s::varchar[]))",
            [list(accounts), list(keys)],
        )
        found = ((r.account_id, r.idempotency_key, r.fingerprint, r.cost) for r in rows)
    else:
        found = UsageEvent.objects.filter(
            account_id__in={account for account, _ in pairs},
            idempotency_key__in={key for _, key in pairs},
        ).values_list("account_id", "idempotency_key", "fingerprint", "cost")
    return {
        (account_id, key): (fp, cost)
        for account_id, key, fp, cost in found
        if (account_id, key) in pairs
    }


def _same_content(result: EventResult, same: bool, cost: Decimal | None) -> None:
    if same:
        result.status = DUPLICATE
        result.cost = cost
    else:
        result.error = (
            "Conflit : cette clé d'idempotence a déjà été utilisée pour un autre événement."
        )


def _allocate(candidate: _Candidate, running: _Running, now: datetime) -> tuple:
    """Credits first; the rest is overage if pay-as-you-go was on at the event, else written off.

    Returns the event's row, in the order of EVENT_COLUMNS.
    """
    cost = candidate.estimate.cost
    credits = min(cost, max(running.remaining, ZERO))
    excess = cost - credits
    overage = excess if candidate.pay_as_you_go else ZERO
    written_off = excess - overage
    running.consumed += credits
    running.overage += overage
    running.written_off += written_off
    running.changed = True
    price = candidate.estimate.price
    return (
        candidate.key.account_id,
        running.period.pk,
        candidate.key.pk,
        candidate.model.pk,
        candidate.idempotency_key,
        candidate.fingerprint,
        candidate.estimate.input_tokens,
        candidate.estimate.output_tokens,
        candidate.estimate.images,
        candidate.occurred_at,
        now,
        price.input_per_million,
        price.output_per_million,
        price.per_image,
        cost,
        credits,
        overage,
        written_off,
        candidate.pay_as_you_go,
    )


EVENT_COLUMNS = (
    "account",
    "period",
    "api_key",
    "model",
    "idempotency_key",
    "fingerprint",
    "input_tokens",
    "output_tokens",
    "images",
    "occurred_at",
    "received_at",
    "input_price",
    "output_price",
    "image_price",
    "cost",
    "credits",
    "overage",
    "written_off",
    "pay_as_you_go",
)
_DATETIMES = (EVENT_COLUMNS.index("occurred_at"), EVENT_COLUMNS.index("received_at"))
# From this many rows, COPY beats a multi-row INSERT (it costs two more round trips).
COPY_MIN = 50
# Rows per INSERT statement: within SQLite's 32 766 bound variables.
_INSERT_CHUNK = 1000


def _insert_events(rows: list[tuple]) -> None:
    """Insert the rows in one statement (COPY on PostgreSQL, else a multi-row INSERT).

    bulk_create's per-field preparation costs more than the database itself for a batch of
    1 000; the values here are already what the columns hold (exact Decimals, ints, aware
    datetimes). A collision on the unique constraint raises IntegrityError all the same.
    """
    quote = connection.ops.quote_name
    meta = UsageEvent._meta
    table = quote(meta.db_table)
    columns = ", ".join(quote(meta.get_field(name).column) for name in EVENT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_MIN:
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        # The backend adapts datetimes (SQLite stores them naive, in UTC).
        adapt = connection.ops.adapt_datetimefield_value
        placeholder = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            params: list = []
            for row in chunk:
                values = list(row)
                for index in _DATETIMES:
                    values[index] = adapt(values[index])
                params.extend(values)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 (no input in it)
                + ", ".join([placeholder] * len(chunk)),
                params,
            )


def _insert_events_new(rows: list[tuple]) -> int:
    """Insert the rows whose idempotency key is new; returns how many were inserted."""
    quote = connection.ops.quote_name
    meta = UsageEvent._meta
    columns = ", ".join(quote(meta.get_field(name).column) for name in EVENT_COLUMNS)
    placeholder = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
    adapt = connection.ops.adapt_datetimefield_value
    params: list = []
    for row in rows:
        values = list(row)
        for index in _DATETIMES:
            values[index] = adapt(values[index])
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608 (no input)
            + ", ".join([placeholder] * len(rows))
            + f" ON CONFLICT ({quote('account_id')}, {quote('idempotency_key')}) DO NOTHING"
            + f" RETURNING {quote('id')}",
            params,
        )
        return len(cursor.fetchall())


# --- may this key spend? ---------------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    reason: str | None  # unknown_key, revoked_key, no_credits, no_formula
    message: str
    remaining_credits: Decimal | None
    pay_as_you_go: bool | None


AUTHORIZATION_MESSAGES = {
    None: "Appel autorisé.",
    "unknown_key": "Clé API inconnue.",
    "revoked_key": "Clé API révoquée.",
    "inactive_account": "Compte désactivé par IAFactory.",
    "no_credits": "Crédits du mois épuisés et pay as you go désactivé.",
    "no_formula": "Aucune formule et pay as you go désactivé.",
}


def _authorization(
    reason: str | None, remaining: Decimal | None = None, payg: bool | None = None
) -> Authorization:
    return Authorization(
        allowed=reason is None,
        reason=reason,
        message=AUTHORIZATION_MESSAGES[reason],
        remaining_credits=remaining,
        pay_as_you_go=payg,
    )


def api_key_storable(raw_key: str) -> bool:
    """Whether a raw key can be hashed and looked up (no surrogate, control char, 10 KB…)."""
    return _storable(raw_key, MAX_API_KEY)


def usage_authorize(*, raw_key: str) -> Authorization:
    """Yes when the key is active and its account has credits left or pay-as-you-go on."""
    key, refusal = api_key_lookup(raw_key)
    if refusal is not None:
        return _authorization(refusal)
    account = key.account
    period = current_period(account=account)
    try:
        subscription = account.subscription
    except Subscription.DoesNotExist:
        subscription = subscription_get_or_create(account=account)
    remaining = period.remaining
    payg = subscription.pay_as_you_go
    if may_spend(period=period, pay_as_you_go=payg):
        return _authorization(None, remaining, payg)
    no_formula = subscription.plan_id is None and period.included_credits == 0
    return _authorization("no_formula" if no_formula else "no_credits", remaining, payg)


# --- the account's state, for its own API -----------------------------------------------------


@dataclass(frozen=True)
class AccountState:
    plan: str | None
    pay_as_you_go: bool
    period: BillingPeriod
    scheduled: PlanChange | None

    @property
    def month(self) -> Month:
        return Month.of(self.period.month)


def account_state(*, account: Account) -> AccountState:
    period = current_period(account=account)
    subscription = Subscription.objects.select_related("plan").get(account=account)
    scheduled = (
        PlanChange.objects.filter(account=account, status=PlanChange.Status.SCHEDULED)
        .select_related("to_plan")
        .first()
    )
    return AccountState(
        plan=subscription.plan.slug if subscription.plan else None,
        pay_as_you_go=subscription.pay_as_you_go,
        period=period,
        scheduled=scheduled,
    )
