"""Online payment by Chargily Pay: checkout creation and the webhook, the only thing that
marks money as received (once per checkout, whatever the number of deliveries)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account

from ..chargily import CURRENCY, checkout_create_remote, signature_valid
from ..models import ChargilyCheckout, Invoice, Payment, Recharge, WebhookEvent
from .payments import OPEN_STATUSES, PaymentError, invoice_balance_due, payment_record

logger = logging.getLogger(__name__)

# Chargily refuses checkouts below this amount (DZD).
MINIMUM_AMOUNT = Decimal("50")


class CheckoutError(ValueError):
    """Chargily could not create the checkout, or there is nothing to pay; French message."""


@transaction.atomic
def checkout_create(
    *,
    account: Account,
    invoice: Invoice | None = None,
    recharge: Recharge | None = None,
    success_url: str,
    failure_url: str,
    webhook_url: str,
) -> ChargilyCheckout:
    """A checkout for the exact TTC still due; the customer is sent to its checkout_url.

    One live checkout per invoice or recharge: under its row lock, a pending checkout of the
    same amount is reused (a second tab pays the same one); pending ones of another amount are
    marked expired (a webhook for them is still recorded, never lost).
    """
    if (invoice is None) == (recharge is None):
        raise ValueError("A checkout pays one invoice or one recharge.")
    if invoice is not None:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.account_id != account.pk or invoice.status not in OPEN_STATUSES:
            raise CheckoutError(
                _("La facture %(number)s n'est pas à payer.") % {"number": invoice.number}
            )
        amount = invoice_balance_due(invoice)
        reference, description = invoice.number, f"Facture {invoice.number}"
        pending = ChargilyCheckout.objects.filter(invoice=invoice)
    else:
        recharge = Recharge.objects.select_for_update().get(pk=recharge.pk)
        if recharge.account_id != account.pk or recharge.status != Recharge.Status.PENDING:
            raise CheckoutError(_("Cette recharge n'est pas à payer."))
        amount = recharge.total_ttc
        reference, description = recharge.reference, f"Recharge de crédits {recharge.reference}"
        pending = ChargilyCheckout.objects.filter(recharge=recharge)
    pending = pending.filter(status=ChargilyCheckout.Status.PENDING)
    reusable = pending.filter(amount=amount).order_by("-created_at", "-pk").first()
    if reusable is not None:
        return reusable
    pending.update(status=ChargilyCheckout.Status.EXPIRED, completed_at=timezone.now())
    if amount < MINIMUM_AMOUNT:
        raise CheckoutError(
            _(
                "Le paiement en ligne demande au moins %(minimum)s DZD : "
                "réglez ce montant par virement."
            )
            % {"minimum": MINIMUM_AMOUNT}
        )
    try:
        remote = checkout_create_remote(
            amount=amount,
            success_url=success_url,
            failure_url=failure_url,
            webhook_url=webhook_url,
            description=description,
            reference=reference,
        )
    except Exception as error:  # network, HTTP or SDK validation: the user retries later
        logger.warning("Chargily: création du paiement refusée (%s)", error)
        raise CheckoutError(
            _(
                "Le paiement en ligne est indisponible pour le moment. Réessayez plus tard ou "
                "payez par virement."
            )
        ) from error
    return ChargilyCheckout.objects.create(
        account=account,
        invoice=invoice,
        recharge=recharge,
        chargily_id=str(remote["id"]),
        amount=amount,
        currency=CURRENCY,
        checkout_url=remote["checkout_url"],
    )


def webhook_handle(*, body: bytes, signature: str) -> WebhookEvent:
    """Keep the webhook as received, then act on it if its signature is valid."""
    event = WebhookEvent.objects.create(
        body=body.decode("utf-8", errors="replace"),
        signature=(signature or "")[:200],
        verdict=WebhookEvent.Verdict.IGNORED,
    )
    if not signature_valid(body=body, signature=signature):
        return _verdict(event, WebhookEvent.Verdict.BAD_SIGNATURE)
    try:
        payload = json.loads(body, parse_float=Decimal)
        event_type = str(payload["type"])
        data = payload["data"]
        chargily_id = str(data["id"])
    except (ValueError, KeyError, TypeError) as error:
        return _verdict(event, WebhookEvent.Verdict.MALFORMED, str(error))
    event.event_type, event.chargily_id = event_type[:60], chargily_id[:100]
    if event_type == "checkout.paid":
        verdict, detail = _paid(chargily_id=chargily_id, data=data)
    elif event_type in ("checkout.failed", "checkout.canceled", "checkout.expired"):
        verdict, detail = _failed(chargily_id=chargily_id)
    else:
        verdict, detail = WebhookEvent.Verdict.IGNORED, ""
    return _verdict(event, verdict, detail)


def _verdict(event: WebhookEvent, verdict: str, detail: str = "") -> WebhookEvent:
    event.verdict, event.detail = verdict, detail[:300]
    event.save(update_fields=["verdict", "detail", "event_type", "chargily_id"])
    if verdict not in (WebhookEvent.Verdict.RECORDED, WebhookEvent.Verdict.DUPLICATE):
        logger.warning("Webhook Chargily %s : %s %s", event.pk, verdict, detail)
    return event


def _amount(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@transaction.atomic
def _paid(*, chargily_id: str, data: dict) -> tuple[str, str]:
    # The checkout row is the lock: concurrent deliveries of one checkout queue here.
    checkout = ChargilyCheckout.objects.select_for_update().filter(chargily_id=chargily_id).first()
    if checkout is None:
        return WebhookEvent.Verdict.UNKNOWN_CHECKOUT, ""
    if checkout.status == ChargilyCheckout.Status.PAID:
        return WebhookEvent.Verdict.DUPLICATE, ""
    amount, currency = _amount(data.get("amount")), str(data.get("currency", "")).lower()
    if amount != checkout.amount or currency != checkout.currency:
        return (
            WebhookEvent.Verdict.MISMATCH,
            f"reçu {data.get('amount')} {currency}, attendu {checkout.amount} {checkout.currency}",
        )
    now = timezone.now()
    checkout.status, checkout.completed_at = ChargilyCheckout.Status.PAID, now
    checkout.save(update_fields=["status", "completed_at"])
    if checkout.invoice_id is not None:
        try:
            # The customer was charged: record it even when nothing is due any more.
            payment_record(
                invoice=checkout.invoice,
                amount=checkout.amount,
                method=Payment.Method.CHARGILY,
                received_at=now,
                checkout=checkout,
                money_taken=True,
            )
        except PaymentError as error:
            # Money was taken for an invoice that can no longer be paid: staff must refund.
            transaction.set_rollback(True)
            return WebhookEvent.Verdict.MISMATCH, str(error)
    else:
        from .recharges import recharge_paid

        recharge_paid(
            recharge=checkout.recharge,
            method=Payment.Method.CHARGILY,
            received_at=now,
            checkout=checkout,
        )
    overpaid = Payment.objects.get(checkout=checkout).overpaid
    if overpaid > 0:
        return WebhookEvent.Verdict.OVERPAID, f"trop-perçu de {overpaid} DZD à rembourser"
    return WebhookEvent.Verdict.RECORDED, ""


@transaction.atomic
def _failed(*, chargily_id: str) -> tuple[str, str]:
    updated = ChargilyCheckout.objects.filter(
        chargily_id=chargily_id, status=ChargilyCheckout.Status.PENDING
    ).update(status=ChargilyCheckout.Status.FAILED, completed_at=timezone.now())
    return (WebhookEvent.Verdict.FAILED if updated else WebhookEvent.Verdict.IGNORED), ""
