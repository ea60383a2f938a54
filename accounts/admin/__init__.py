"""Accounts admin, one module per topic."""

from . import customers, gateway  # noqa: F401
