"""An event's cost against an ordered list of credit sources: pure arithmetic, no database.

Each source takes what it can, in order; what none could take is written off (recorded, never
invoiced). A period's sources are its included credits, then the account's prepaid balance, then
overage when pay-as-you-go was on at the event, up to the ceiling in force then. A key's monthly
budget bounds the whole: the part of a cost beyond it is written off before any source is
touched (DESIGN.md §3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ..money import ZERO


class Source(Protocol):
    name: str

    @property
    def available(self) -> Decimal | None:
        """What the source can still take; None when it has no bound."""

    def take(self, amount: Decimal) -> None: ...


@dataclass
class IncludedCredits:
    """The period's included credits: consumed up to what was granted."""

    included: Decimal
    consumed: Decimal
    name: str = "credits"

    @property
    def available(self) -> Decimal:
        return max(self.included - self.consumed, ZERO)

    def take(self, amount: Decimal) -> None:
        self.consumed += amount


@dataclass
class Overage:
    """Pay-as-you-go: the period's overage, up to `ceiling` when there is one."""

    total: Decimal
    ceiling: Decimal | None = None
    name: str = "overage"

    @property
    def available(self) -> Decimal | None:
        if self.ceiling is None:
            return None
        return max(self.ceiling - self.total, ZERO)

    def take(self, amount: Decimal) -> None:
        self.total += amount


@dataclass
class Prepaid:
    """The account's prepaid balance: debited down to zero, never below."""

    balance: Decimal
    used: Decimal = ZERO
    name: str = "prepaid"

    @property
    def available(self) -> Decimal:
        return max(self.balance, ZERO)

    def take(self, amount: Decimal) -> None:
        self.balance -= amount
        self.used += amount


@dataclass
class KeyBudget:
    """What a key's events charged this month, against its monthly budget (None: no budget)."""

    charged: Decimal
    budget: Decimal | None

    @property
    def available(self) -> Decimal | None:
        if self.budget is None:
            return None
        return max(self.budget - self.charged, ZERO)


@dataclass(frozen=True)
class Allocation:
    taken: dict[str, Decimal] = field(default_factory=dict)  # by source name, in source order
    written_off: Decimal = ZERO

    def of(self, name: str) -> Decimal:
        return self.taken.get(name, ZERO)


def allocate(
    cost: Decimal, sources: Sequence[Source], *, key: KeyBudget | None = None
) -> Allocation:
    """Split a non-negative cost over the sources in order; the rest is written off.

    With `key`, the part beyond the key's remaining budget is written off first, and what the
    sources took is added to the key's charged total.
    """
    beyond = ZERO
    if key is not None and key.available is not None and cost > key.available:
        beyond = cost - key.available
    rest = cost - beyond
    taken: dict[str, Decimal] = {}
    for source in sources:
        available = source.available
        part = rest if available is None else min(rest, available)
        taken[source.name] = part
        if part:
            source.take(part)
            rest -= part
    if key is not None:
        key.charged += cost - beyond - rest
    return Allocation(taken, rest + beyond)
