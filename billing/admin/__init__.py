"""Billing admin, one module per topic."""

from . import customers, invoices, settings, subscriptions, usage  # noqa: F401
