"""The sales terms the public catalog shows (TVA rate, notice of a price rise) but does not own:
billing keeps them (BillingSettings) and registers how to read them when it starts
(billing/apps.py), so that catalog never imports billing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class SalesTerms:
    tva_rate: Decimal  # percent
    price_notice_days: int


# Billing's defaults, for a catalog running without billing (no reader registered).
DEFAULT_TERMS = SalesTerms(tva_rate=Decimal("19.00"), price_notice_days=30)

_reader: Callable[[], SalesTerms] | None = None


def sales_terms_reader_set(reader: Callable[[], SalesTerms] | None) -> None:
    global _reader
    _reader = reader


def sales_terms() -> SalesTerms:
    return _reader() if _reader is not None else DEFAULT_TERMS
