"""Chargily Pay (API v2) through Chargily's own SDK: the client, checkouts, signatures.

The base URL comes from settings.CHARGILY_API_URL (the local stand-in in `make run` and
tests, Chargily's test or live API otherwise).
"""

from __future__ import annotations

from decimal import Decimal

from chargily_pay import ChargilyClient
from chargily_pay.entity import Checkout
from django.conf import settings

CURRENCY = "dzd"


def chargily_enabled() -> bool:
    """Online payment is offered only when Chargily's key and secret are set."""
    return bool(settings.CHARGILY_API_KEY and settings.CHARGILY_SECRET)


def chargily_client() -> ChargilyClient:
    return ChargilyClient(
        settings.CHARGILY_API_KEY, settings.CHARGILY_SECRET, settings.CHARGILY_API_URL
    )


def wire_amount(amount: Decimal) -> int | float:
    """The amount as a JSON number for Chargily: whole dinars as an int, else the exact decimal.

    Chargily's SDK sends its body with `json.dumps`, which writes a Decimal only as a float. No
    arithmetic happens on that float: for any amount of at most 15 significant digits (every
    invoice below 10^13 DZD) the float's shortest repr is the decimal itself, so the JSON text is
    exact, and webhooks are read back with `parse_float=Decimal`. Raises ValueError for an amount
    the wire cannot carry exactly (more than 2 decimals or 15 digits), rather than round it.
    """
    if amount == amount.to_integral_value():
        return int(amount)
    wire = float(amount)
    if amount.as_tuple().exponent < -2 or Decimal(repr(wire)) != amount:
        raise ValueError(f"{amount} DZD cannot be sent exactly to Chargily")
    return wire


def checkout_create_remote(
    *,
    amount: Decimal,
    success_url: str,
    failure_url: str,
    webhook_url: str,
    description: str,
    reference: str,
) -> dict:
    """POST /checkouts; returns Chargily's checkout object (id, checkout_url, amount, …)."""
    checkout = Checkout(
        success_url=success_url,
        failure_url=failure_url,
        webhook_endpoint=webhook_url,
        amount=wire_amount(amount),
        currency=CURRENCY,
        description=description,
        locale="fr",
        metadata=[{"reference": reference}],
    )
    return chargily_client().create_checkout(checkout)


def signature_valid(*, body: bytes, signature: str) -> bool:
    """HMAC-SHA256 of the raw body with the secret, compared in constant time (the SDK's
    hmac.compare_digest)."""
    if not settings.CHARGILY_SECRET or not signature or not signature.isascii():
        return False
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return chargily_client().validate_signature(signature, payload)
