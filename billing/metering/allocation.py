"""An event's cost against an ordered list of credit sources: pure arithmetic, no database.

Each source takes what it can, in order; what none could take is written off (recorded, never
invoiced). Today a period's sources are its included credits, then overage when pay-as-you-go
was on at the event. A prepaid balance goes between the two, a pay-as-you-go ceiling is an
Overage with a ceiling, a key's monthly budget a bound on the whole (DESIGN.md §3).
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


@dataclass(frozen=True)
class Allocation:
    taken: dict[str, Decimal] = field(default_factory=dict)  # by source name, in source order
    written_off: Decimal = ZERO

    def of(self, name: str) -> Decimal:
        return self.taken.get(name, ZERO)


def allocate(cost: Decimal, sources: Sequence[Source]) -> Allocation:
    """Split a non-negative cost over the sources in order; the rest is written off."""
    rest = cost
    taken: dict[str, Decimal] = {}
    for source in sources:
        available = source.available
        part = rest if available is None else min(rest, available)
        taken[source.name] = part
        if part:
            source.take(part)
            rest -= part
    return Allocation(taken, rest)
