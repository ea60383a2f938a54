"""Billing admin, one module per topic."""

from . import close, invoices, settings, subscriptions, usage  # noqa: F401
