"""Step 2 of a batch, inside one transaction: lock, classify, allocate, insert, update."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..models import BillingPeriod
from ..periods import Month
from ..services.alerts import credit_alerts_check
from .allocation import IncludedCredits, Overage, Source, allocate
from .ledger import Ledger, Recorded
from .parse import Candidate
from .payg import payg_recheck
from .results import ACCEPTED, DUPLICATE, EventResult
from .rollups import rollups_of
from .rows import EventRow, PeriodTotals

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


class Collision(Exception):
    """An optimistic insert met an idempotency key already recorded."""


@dataclass
class RunningPeriod:
    """A locked period's credit sources and totals while its events are allocated."""

    period: BillingPeriod
    credits: IncludedCredits = field(init=False)
    overage: Overage = field(init=False)
    written_off: Decimal = field(init=False)
    changed: bool = False

    def __post_init__(self) -> None:
        self.credits = IncludedCredits(self.period.included_credits, self.period.consumed)
        self.overage = Overage(self.period.overage)
        self.written_off = self.period.written_off

    def sources(self, *, pay_as_you_go: bool) -> tuple[Source, ...]:
        """Credits first; then overage if pay-as-you-go was on at the event (else written off)."""
        return (self.credits, self.overage) if pay_as_you_go else (self.credits,)

    @property
    def usage(self) -> Decimal:
        """The cost of the period's events so far, whatever source covered it."""
        return self.credits.consumed + self.overage.total + self.written_off

    def totals(self) -> PeriodTotals:
        return PeriodTotals(
            self.period.pk, self.credits.consumed, self.overage.total, self.written_off
        )


def _event_row(candidate: Candidate, running: RunningPeriod, now: datetime) -> EventRow:
    cost = candidate.estimate.cost
    allocation = allocate(cost, running.sources(pay_as_you_go=candidate.pay_as_you_go))
    running.written_off += allocation.written_off
    running.changed = True
    price = candidate.estimate.price
    return EventRow(
        account_id=candidate.key.account_id,
        period_id=running.period.pk,
        api_key_id=candidate.key.pk,
        model_id=candidate.model.pk,
        idempotency_key=candidate.idempotency_key,
        fingerprint=candidate.fingerprint,
        input_tokens=candidate.estimate.input_tokens,
        output_tokens=candidate.estimate.output_tokens,
        images=candidate.estimate.images,
        occurred_at=candidate.occurred_at,
        received_at=now,
        input_price=price.input_per_million,
        output_price=price.output_per_million,
        image_price=price.per_image,
        cost=cost,
        credits=allocation.of("credits"),
        overage=allocation.of("overage"),
        written_off=allocation.written_off,
        pay_as_you_go=candidate.pay_as_you_go,
    )


def _same_content(result: EventResult, same: bool, cost: Decimal | None) -> None:
    if same:
        result.status = DUPLICATE
        result.cost = cost
    else:
        result.error = (
            "Conflit : cette clé d'idempotence a déjà été utilisée pour un autre événement."
        )


def charge(
    candidates: list[Candidate],
    results: list[EventResult],
    now: datetime,
    *,
    ledger: Ledger,
    optimistic: bool,
    recorded: Recorded | None,
) -> set[tuple[int, Month]]:
    """Lock the periods, allocate each new event in request order, insert, update.

    `recorded`: the batch's keys already in the database, read before the locks (None: read
    them now, under the locks). Optimistic: insert without reading them, raising Collision
    when one was recorded. Returns the (account, month) periods that do not exist yet, having
    written nothing.
    """
    wanted = {(c.key.account_id, c.month) for c in candidates}
    locked, payg_now = ledger.lock_periods(wanted)
    periods = {(p.account_id, Month.of(p.month)): RunningPeriod(p) for p in locked}
    missing = wanted - periods.keys()
    if missing:
        return missing
    payg_recheck(candidates, payg_now)
    if optimistic:
        existing: Recorded = {}
    elif recorded is not None:
        existing = recorded
    else:
        existing = ledger.recorded({(c.key.account_id, c.idempotency_key) for c in candidates})
    first_in_batch: dict[tuple[int, str], Candidate] = {}
    new_rows: list[EventRow] = []
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
                raise Collision  # a replay of an event of that month is still a duplicate
            result.error = (
                f"La période {candidate.month} est clôturée : "
                "cet événement ne peut plus être facturé."
            )
            continue
        if running.usage + candidate.estimate.cost > MAX_PERIOD_USAGE:
            if optimistic:
                raise Collision  # a replay of an event recorded before is still a duplicate
            result.error = (
                f"Plafond mensuel atteint : les événements du mois {candidate.month} "
                f"coûteraient plus de {MAX_PERIOD_USAGE} DZD ; cet événement est refusé."
            )
            continue
        new_rows.append(_event_row(candidate, running, now))
        result.status = ACCEPTED
        result.cost = candidate.estimate.cost

    if not new_rows:
        return set()
    # One order for every transaction's inserts, so that two of them never wait on each other
    # in a cycle over the unique index.
    new_rows.sort(key=lambda row: (row.account_id, row.idempotency_key))
    # The daily rollups, in the events' transaction: one upsert per group.
    rollups = rollups_of(new_rows)
    if optimistic:
        if ledger.insert_new_events(new_rows, rollups) != len(new_rows):
            raise Collision
    else:
        ledger.insert_events(new_rows)
        ledger.upsert_rollups(rollups)
    changed = [running for running in periods.values() if running.changed]
    ledger.update_periods([running.totals() for running in changed])
    for running in changed:
        credit_alerts_check(
            period=running.period,
            consumed_before=running.period.consumed,
            consumed_after=running.credits.consumed,
        )
    return set()
