"""Step 2 of a batch, one transaction per group of accounts: lock, classify, allocate, insert,
update."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..models import BillingPeriod
from ..periods import Month
from .alerting import alerts_note
from .allocation import IncludedCredits, KeyBudget, Overage, Prepaid, Source, allocate
from .ledger import Ledger, Recorded
from .ledger.base import Totals
from .parse import Candidate
from .payg import payg_recheck
from .results import ACCEPTED, DUPLICATE, EventResult
from .rows import BalanceTotals, EventRow, KeySpendRow, PeriodTotals, SpendTotals

MAX_PERIOD_USAGE = Decimal(10_000_000_000)
"""The most an account's events may cost in one month (consumed + prepaid used + overage +
written off).

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
    prepaid_used: Decimal = field(init=False)
    written_off: Decimal = field(init=False)
    changed: bool = False

    def __post_init__(self) -> None:
        self.credits = IncludedCredits(self.period.included_credits, self.period.consumed)
        self.overage = Overage(self.period.overage)
        self.prepaid_used = self.period.prepaid_used
        self.written_off = self.period.written_off

    def sources(self, candidate: Candidate, prepaid: Prepaid | None) -> tuple[Source, ...]:
        """Credits first; then the prepaid balance; then overage if pay-as-you-go was on at the
        event, up to the ceiling in force then (else written off)."""
        sources: list[Source] = [self.credits]
        if prepaid is not None:
            sources.append(prepaid)
        if candidate.pay_as_you_go:
            self.overage.ceiling = candidate.payg_cap
            sources.append(self.overage)
        return tuple(sources)

    @property
    def usage(self) -> Decimal:
        """The cost of the period's events so far, whatever source covered it."""
        return self.credits.consumed + self.prepaid_used + self.overage.total + self.written_off

    def totals(self) -> PeriodTotals:
        return PeriodTotals(
            self.period.pk,
            self.credits.consumed,
            self.prepaid_used,
            self.overage.total,
            self.written_off,
        )


@dataclass
class RunningSpend:
    """A locked key spend row while the batch's events of that key and month are allocated."""

    row: KeySpendRow
    budget: KeyBudget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = KeyBudget(self.row.charged, self.row.budget)

    @property
    def changed(self) -> bool:
        return self.budget.charged != self.row.charged


def _event_row(
    candidate: Candidate,
    running: RunningPeriod,
    now: datetime,
    *,
    spend: RunningSpend,
    prepaid: Prepaid | None,
) -> EventRow:
    cost = candidate.estimate.cost
    allocation = allocate(cost, running.sources(candidate, prepaid), key=spend.budget)
    paid_by_balance = allocation.of("prepaid")
    running.prepaid_used += paid_by_balance
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
        prepaid=paid_by_balance,
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
) -> set[tuple[int, Month]]:
    """Lock the periods, allocate each new event in request order, insert, update.

    Optimistic: insert without reading which keys are recorded already, raising Collision
    when one was (the caller reruns without). Otherwise they are read under the locks.
    Returns the (account, month) periods that do not exist yet, having written nothing.
    """
    wanted = {(c.key.account_id, c.month) for c in candidates}
    # The global lock order (ledger/base.py): periods, then key spends, then balances. Every
    # account of the batch's balance, not only those that had one when the batch was read: a
    # first recharge committed meanwhile is then used (one indexed query).
    locked = ledger.lock(
        wanted,
        {(c.key.pk, c.month.first_day) for c in candidates},
        {c.key.account_id for c in candidates},
    )
    periods = {(p.account_id, Month.of(p.month)): RunningPeriod(p) for p in locked.periods}
    missing = wanted - periods.keys()
    if missing:
        return missing
    payg_recheck(candidates, locked.payg_now)
    spends = {(row.api_key_id, row.month): RunningSpend(row) for row in locked.spends}
    balances = {account_id: Prepaid(balance) for account_id, balance in locked.balances.items()}
    if optimistic:
        existing: Recorded = {}
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
        new_rows.append(
            _event_row(
                candidate,
                running,
                now,
                spend=spends[(candidate.key.pk, candidate.month.first_day)],
                prepaid=balances.get(candidate.key.account_id),
            )
        )
        result.status = ACCEPTED
        result.cost = candidate.estimate.cost

    if not new_rows:
        return set()
    # One order for every transaction's inserts, so that two of them never wait on each other
    # in a cycle over the unique index.
    new_rows.sort(key=lambda row: (row.account_id, row.idempotency_key))
    changed = [running for running in periods.values() if running.changed]
    spent = [spend for spend in spends.values() if spend.changed]
    totals = Totals(
        [running.totals() for running in changed],
        [SpendTotals(s.row.id, s.budget.charged) for s in spent],
        [BalanceTotals(a, p.balance) for a, p in balances.items() if p.used],
    )
    if ledger.record(new_rows, totals, new=optimistic) != len(new_rows):
        raise Collision
    alerts_note(candidates=candidates, periods=changed, spends=spent, payg_now=locked.payg_now)
    return set()
