"""Billing admin, one module per topic."""

from . import close, customers, invoices, settings, subscriptions, usage  # noqa: F401
