"""Billing admin, one module per topic."""

from . import (  # noqa: F401
    close,
    customers,
    invoices,
    money_in,
    settings,
    subscriptions,
    usage,
)
