"""The metering ledger's store, chosen once from the connection's vendor."""

from __future__ import annotations

from django.db import connection

from .base import Ledger, Recorded
from .orm import OrmLedger
from .postgres import PostgresLedger

__all__ = ["Ledger", "OrmLedger", "PostgresLedger", "Recorded", "ledger_for"]

_STORES: dict[str, Ledger] = {}


def ledger_for(vendor: str | None = None) -> Ledger:
    """The store for the default connection's database (PostgreSQL's own, else the ORM's)."""
    vendor = vendor or connection.vendor
    store = _STORES.get(vendor)
    if store is None:
        store = _STORES[vendor] = PostgresLedger() if vendor == "postgresql" else OrmLedger()
    return store
