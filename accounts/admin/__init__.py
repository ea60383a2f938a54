"""Accounts admin, one module per topic."""

from . import audit, customers, gateway, team  # noqa: F401
