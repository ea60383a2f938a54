"""Accounts admin, one module per topic."""

from . import audit, customers, gateway  # noqa: F401
