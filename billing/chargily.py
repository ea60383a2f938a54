"""Chargily Pay (API v2) through Chargily's own SDK: the client, checkouts, signatures.

The base URL comes from settings.CHARGILY_API_URL (the local stand-in in `make run` and
tests, Chargily's test or live API otherwise).
"""

from __future__ import annotations

import json
from decimal import Decimal

import requests
from chargily_pay import ChargilyClient
from chargily_pay.api import asdict_true_value, response_or_exception
from chargily_pay.entity import Checkout
from django.conf import settings
from requests.compat import urljoin

CURRENCY = "dzd"


def chargily_enabled() -> bool:
    """Online payment is offered only when Chargily's key and secret are set."""
    return bool(settings.CHARGILY_API_KEY and settings.CHARGILY_SECRET)


def chargily_client() -> ChargilyClient:
    return ChargilyClient(
        settings.CHARGILY_API_KEY, settings.CHARGILY_SECRET, settings.CHARGILY_API_URL
    )


def wire_amount(amount: Decimal) -> str:
    """The amount as JSON number text for Chargily, in dinars: « 1190 », « 1190.40 ».

    Written from the Decimal's own digits, so what Chargily reads is the invoice's amount to the
    centime (webhooks are read back with `parse_float=Decimal`). Raises ValueError for an amount
    with fractions of a centime, rather than round it.
    """
    if amount == amount.to_integral_value():
        return str(int(amount))
    if amount.as_tuple().exponent < -2:
        raise ValueError(f"{amount} DZD cannot be sent exactly to Chargily")
    return format(amount, "f")


def json_exact(value, **options) -> bytes:
    """`value` as JSON with every Decimal written as its exact number (wire_amount): the
    standard json module writes a Decimal only through float. `options` go to json.dumps."""
    numbers: list[Decimal] = []

    def slot(obj):
        if not isinstance(obj, Decimal):
            raise TypeError(f"{type(obj).__name__} is not JSON serializable")
        numbers.append(obj)
        return f"\x00{len(numbers) - 1}\x00"

    text = json.dumps(value, default=slot, **options)
    for index, number in enumerate(numbers):
        text = text.replace(json.dumps(f"\x00{index}\x00"), wire_amount(number), 1)
    return text.encode()


@response_or_exception  # the SDK's own answer handling: HTTPError on 4xx/5xx, else the JSON
def _checkout_post(client: ChargilyClient, body: bytes):
    return requests.post(
        urljoin(client.url, "checkouts"), headers=client.headers, data=body, timeout=30
    )


def checkout_create_remote(
    *,
    amount: Decimal,
    success_url: str,
    failure_url: str,
    webhook_url: str,
    description: str,
    reference: str,
) -> dict:
    """POST /checkouts; returns Chargily's checkout object (id, checkout_url, amount, …).

    The SDK's Checkout gives the body's fields and its client the URL and headers; the body is
    encoded here because the SDK's `create_checkout` sends it with `json=`, which writes a
    centime amount only as a float.
    """
    checkout = Checkout(
        success_url=success_url,
        failure_url=failure_url,
        webhook_endpoint=webhook_url,
        amount=amount,
        currency=CURRENCY,
        description=description,
        locale="fr",
        metadata=[{"reference": reference}],
    )
    return _checkout_post(chargily_client(), json_exact(asdict_true_value(checkout)))


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
