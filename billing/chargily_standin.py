"""A local stand-in of Chargily Pay's API v2, for tests and `make run` (this machine cannot
reach Chargily). Served by the portal under /chargily-test/ only when CHARGILY_STANDIN is on
(test mode with DEBUG, or tests); 404 otherwise.

It follows Chargily's documented behaviour: POST /api/v2/checkouts (Bearer secret key) returns a
checkout with its checkout_url; that page « pays » (or fails), POSTs the webhook event to the
checkout's webhook_endpoint signed with HMAC-SHA256 of the body in the `signature` header, then
redirects to success_url (or failure_url). Checkouts live in memory: one process, test only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from decimal import Decimal

import requests
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .chargily import json_exact

_CHECKOUTS: dict[str, dict] = {}
_LOCK = threading.Lock()


def sign(body: bytes, secret: str | None = None) -> str:
    """Chargily's webhook signature: hex HMAC-SHA256 of the raw body with the secret key."""
    key = (secret if secret is not None else settings.CHARGILY_SECRET).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def webhook_body(checkout: dict, *, event_type: str = "checkout.paid") -> bytes:
    """The event Chargily sends: {id, entity: event, livemode, type, data: checkout}."""
    now = int(time.time())
    status = "paid" if event_type == "checkout.paid" else "failed"
    event = {
        "id": f"01evt{secrets.token_hex(10)}",
        "entity": "event",
        "livemode": "false",
        "type": event_type,
        "data": {**checkout, "status": status, "updated_at": now},
        "created_at": now,
        "updated_at": now,
    }
    return json_exact(event, separators=(",", ":"))


def _enabled() -> None:
    if not settings.CHARGILY_STANDIN:
        raise Http404


def _json(checkout: dict) -> HttpResponse:
    return HttpResponse(json_exact(checkout), content_type="application/json")


def _error(status: int, message: str, **errors) -> JsonResponse:
    return JsonResponse({"message": message, "errors": errors}, status=status)


@csrf_exempt
def checkouts(request):
    _enabled()
    if request.method != "POST":
        return _error(405, "Method not allowed.")
    if request.headers.get("Authorization") != f"Bearer {settings.CHARGILY_SECRET}":
        return _error(401, "Unauthenticated.")
    try:
        data = json.loads(request.body, parse_float=Decimal)
    except ValueError:
        return _error(422, "Invalid JSON.")
    amount = data.get("amount")
    if not isinstance(amount, int | Decimal) or amount < 50:
        return _error(422, "The amount field must be at least 50.", amount=["min 50"])
    if str(data.get("currency", "")).lower() != "dzd":
        return _error(422, "The selected currency is invalid.", currency=["dzd"])
    if not data.get("success_url"):
        return _error(422, "The success url field is required.", success_url=["required"])
    checkout_id = f"01hj{secrets.token_hex(12)}"
    now = int(time.time())
    checkout = {
        "id": checkout_id,
        "entity": "checkout",
        "livemode": False,
        "amount": amount,  # a JSON number, as Chargily sends it (exact: json_exact)
        "currency": "dzd",
        "fees": 0,
        "pass_fees_to_customer": False,
        "status": "pending",
        "locale": data.get("locale", "fr"),
        "description": data.get("description"),
        "metadata": data.get("metadata"),
        "success_url": data["success_url"],
        "failure_url": data.get("failure_url"),
        "webhook_endpoint": data.get("webhook_endpoint"),
        "payment_method": None,
        "invoice_id": None,
        "customer_id": None,
        "payment_link_id": None,
        "created_at": now,
        "updated_at": now,
        "checkout_url": request.build_absolute_uri(f"/chargily-test/pay/{checkout_id}/"),
    }
    with _LOCK:
        _CHECKOUTS[checkout_id] = checkout
    return _json(checkout)


def checkout_detail(request, checkout_id: str):
    _enabled()
    checkout = _CHECKOUTS.get(checkout_id)
    if checkout is None:
        return _error(404, "Not found.")
    return _json(checkout)


@csrf_exempt  # stands for Chargily's own site, not a page of the portal
def pay(request, checkout_id: str):
    """The payment page: « Payer (mode test) » or « Simuler un échec »."""
    _enabled()
    checkout = _CHECKOUTS.get(checkout_id)
    if checkout is None:
        raise Http404
    if request.method == "POST" and checkout["status"] == "pending":
        paid = request.POST.get("issue") != "echec"
        event_type = "checkout.paid" if paid else "checkout.failed"
        with _LOCK:
            checkout["status"] = "paid" if paid else "failed"
        body = webhook_body(checkout, event_type=event_type)
        if checkout.get("webhook_endpoint"):
            # Delivered before the redirect, as a real gateway usually manages: the return
            # page then already knows. The portal must not rely on it (it polls nothing).
            requests.post(
                checkout["webhook_endpoint"],
                data=body,
                headers={"Content-Type": "application/json", "signature": sign(body)},
                timeout=15,
            )
        target = checkout["success_url"] if paid else checkout.get("failure_url")
        return HttpResponseRedirect(target or checkout["success_url"])
    return render(request, "billing/chargily_standin_pay.html", {"checkout": checkout})


urlpatterns = [
    path("chargily-test/api/v2/checkouts", checkouts, name="chargily_standin_checkouts"),
    path(
        "chargily-test/api/v2/checkouts/<str:checkout_id>",
        checkout_detail,
        name="chargily_standin_checkout",
    ),
    path("chargily-test/pay/<str:checkout_id>/", pay, name="chargily_standin_pay"),
]
