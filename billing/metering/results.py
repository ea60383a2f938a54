"""What a batch answers: one result per event, in request order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
