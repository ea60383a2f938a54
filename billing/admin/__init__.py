"""Billing admin, one module per topic."""

from . import invoices, settings, subscriptions, usage  # noqa: F401
