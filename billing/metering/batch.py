"""A gateway batch, charged exactly once.

A batch goes through three steps, so that the only work done under a lock is the allocation:

1. Outside any transaction: parse and price every event (the keys with their subscriptions and
   alert settings, and the prices, in one round trip; the pay-as-you-go history only of
   accounts that switched it after their event).
2. Per group of whole accounts (GROUP_EVENTS events or more each), one short transaction
   (metering.charge): lock the group's periods, key spends and balances (one round trip),
   allocate each new event's cost to its credit sources in request order, then insert the
   events and write their rollups and the totals (one statement for a small group; COPY and
   one more for a large one). A missing period is created outside the locks
   (``period_get_or_create`` locks the subscription) and the step rerun. Groups keep the locks
   of a batch over many accounts short: two batches over the same accounts would otherwise
   wait for each other whole (issue 10). An account's events are always in one group, so
   they are allocated in request order. A group that fails after another committed leaves
   the committed events recorded and the request answers 500: the gateway resends the whole
   batch, where they answer ``duplicate`` (charged once) and the rest is charged.
3. After each group's commit: its keys' ``last_used_at``, and the alert check of a period
   where the charge saw a threshold reached (from its own totals: no query otherwise).

The unique constraint (account, idempotency_key) is what makes an event count once, never a
read. A group's first attempt inserts without reading which keys are recorded (``INSERT …
ON CONFLICT DO NOTHING`` inserts fewer rows than sent; on PostgreSQL, COPY of a large group
fails on the constraint); the transaction rolls back and the step is rerun with the keys read
under the locks, where the other row is seen as recorded. After one collision (a resent
batch), the batch's next groups start with that read.
SQLite has no row locks, but its write transactions are serialised (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from accounts.keys import LAST_USED_RESOLUTION
from accounts.models import Account, ApiKey

from ..periods import Month
from ..services.periods import period_get_or_create
from .charge import Collision, charge
from .context import context_load
from .ledger import Ledger, ledger_for
from .parse import Candidate, Rejected, key_of, parse, printable
from .payg import payg_apply
from .results import ACCEPTED, REJECTED, BatchResult, BatchTooLarge, EventResult

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BATCH = 1000
# A deadlock, a serialization failure or a unique violation is retried this many times in all.
ATTEMPTS = 5
# A batch is charged in transactions of whole accounts of at least this many events each.
GROUP_EVENTS = 250
# At most this many rejected events are detailed in the batch's log line.
LOGGED_REJECTIONS = 20


def usage_record_batch(
    *, events: Sequence[object], now: datetime | None = None, ledger: Ledger | None = None
) -> BatchResult:
    """Record a gateway batch: each event accepted, duplicate or rejected, in request order.

    Not one atomic block: see the module docstring for the three steps and why. `ledger`: the
    store to use (default: the database's own).
    """
    result = _record_batch(events, now, ledger or ledger_for())
    if result.rejected:
        _log_rejections(events, result)
    return result


def _record_batch(events: Sequence[object], now: datetime | None, ledger: Ledger) -> BatchResult:
    if len(events) > MAX_BATCH:
        raise BatchTooLarge(f"Au plus {MAX_BATCH} événements par requête.")
    now = now or timezone.now()
    results = [EventResult(idempotency_key=key_of(event)) for event in events]
    if not events:
        return BatchResult(results)

    context = context_load(events=events, now=now, ledger=ledger)
    candidates: list[Candidate] = []
    for index, event in enumerate(events):
        try:
            candidates.append(parse(index, event, context))
        except Rejected as rejection:
            results[index].error = rejection.message
    if not candidates:
        return BatchResult(results)
    payg_apply(candidates)

    optimistic = True
    for group in account_groups(candidates, GROUP_EVENTS):
        optimistic = _charge_until_done(group, results, now, ledger, optimistic=optimistic)
        _keys_mark_used(group, results, now)
    return BatchResult(results)


def account_groups(
    items: Sequence[T], size: int, account_of: Callable[[T], int] = lambda c: c.key.account_id
) -> list[list[T]]:
    """`items` (candidates by default) cut into groups of whole accounts (in account order,
    request order within an account), each of at least `size` items but the last."""
    by_account: dict[int, list[T]] = defaultdict(list)
    for item in items:
        by_account[account_of(item)].append(item)
    groups: list[list[T]] = [[]]
    for account_id in sorted(by_account):
        if len(groups[-1]) >= size:
            groups.append([])
        groups[-1].extend(by_account[account_id])
    return groups


def _charge_until_done(
    candidates: list[Candidate],
    results: list[EventResult],
    now: datetime,
    ledger: Ledger,
    *,
    optimistic: bool,
) -> bool:
    """Run the charge step until it commits; returns whether it committed still optimistic
    (no collision met). Three things send it round again:

    - a collision on the optimistic insert: rerun on the careful path (keys read under locks);
    - a transient database error (unique violation, deadlock, serialization failure): the
      same, at most ATTEMPTS times in all;
    - periods missing: create them outside the locks, then rerun.
    """
    failures = 0
    while True:
        try:
            with transaction.atomic():
                missing = charge(
                    candidates,
                    results,
                    now,
                    ledger=ledger,
                    optimistic=optimistic,
                )
        except Collision:
            pass
        except (IntegrityError, OperationalError) as error:
            failures += 1
            if not _is_transient(error) or failures == ATTEMPTS:
                raise
            logger.info("usage batch retried after %s (%d)", type(error).__name__, failures)
        else:
            if not missing:
                return optimistic
            _periods_create(missing)
            continue
        optimistic = False
        _results_reset(candidates, results)


def _results_reset(candidates: list[Candidate], results: list[EventResult]) -> None:
    """Forget what a rolled-back attempt answered."""
    for candidate in candidates:
        results[candidate.index] = EventResult(idempotency_key=candidate.idempotency_key)


def _periods_create(missing: set[tuple[int, Month]]) -> None:
    # Outside the period locks: period_get_or_create locks the subscription.
    owners = Account.objects.in_bulk({account_id for account_id, _ in missing})
    for account_id, month in missing:
        period_get_or_create(account=owners[account_id], month=month)


def _is_transient(error: Exception) -> bool:
    """A collision on the idempotency constraint, a deadlock or a serialization failure."""
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in {"23505", "40P01", "40001"}
    return isinstance(error, IntegrityError) and "UNIQUE" in str(error)


def _keys_mark_used(candidates: list[Candidate], results: list[EventResult], now: datetime):
    """last_used_at of the keys that were used, at most once a minute per key (a hot row)."""
    stale = {
        c.key.pk
        for c in candidates
        if results[c.index].status == ACCEPTED
        and (c.key.last_used_at is None or now - c.key.last_used_at >= LAST_USED_RESOLUTION)
    }
    if stale:
        ApiKey.objects.filter(pk__in=stale).update(last_used_at=now)


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
                    "key_prefix": printable(api_key, 12),
                    "model": printable(model, 60),
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
