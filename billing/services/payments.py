"""Money received: payments against invoices, what an invoice still owes, and its status.

An invoice's balance due = TTC − payments − credit notes (TTC); its status follows from it.
A payment never changes the issued invoice's content. Every payment lifts a suspension at
once when no other invoice keeps it (billing/services/dunning.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, User

from ..models import ChargilyCheckout, Invoice, Payment, TransferProof
from ..money import ZERO

logger = logging.getLogger(__name__)

OPEN_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID)


class PaymentError(ValueError):
    """A payment that cannot be taken (nothing due, invoice void…), in French for the user."""


def invoice_amounts(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    """(paid, credited TTC, balance due) of an invoice; an overpaid part is not counted."""
    paid = invoice.payments.aggregate(total=Sum(F("amount") - F("overpaid")))["total"] or ZERO
    credited = invoice.credit_notes.aggregate(total=Sum("total_ttc"))["total"] or ZERO
    return paid, credited, invoice.total_ttc - paid - credited


def invoice_balance_due(invoice: Invoice) -> Decimal:
    return invoice_amounts(invoice)[2]


def invoice_settle(*, invoice: Invoice) -> Invoice:
    """Recompute the status of a locked invoice from its balance due (caller holds the lock)."""
    if invoice.status == Invoice.Status.VOID:
        return invoice
    paid, credited, due = invoice_amounts(invoice)
    if credited >= invoice.total_ttc:
        status = Invoice.Status.CREDITED
    elif due <= 0:
        status = Invoice.Status.PAID
    elif paid > 0:
        status = Invoice.Status.PARTLY_PAID
    else:
        status = Invoice.Status.ISSUED
    fields = []
    if status != invoice.status:
        invoice.status = status
        fields.append("status")
    if status == Invoice.Status.PAID and invoice.paid_at is None:
        last = invoice.payments.order_by("-received_at").values_list("received_at", flat=True)
        invoice.paid_at = last.first() or timezone.now()
        fields.append("paid_at")
    if fields:
        invoice.save(update_fields=fields)
    return invoice


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal | None = None,
    method: Payment.Method,
    received_at: datetime | None = None,
    checkout: ChargilyCheckout | None = None,
    proof: TransferProof | None = None,
    by: User | None = None,
    money_taken: bool = False,
) -> Payment:
    """Record money received against an invoice, settle it, lift a suspension.

    Under the invoice lock: `amount` defaults to the balance due, refused when nothing is due —
    unless `money_taken` (the customer was already charged, e.g. an online payment): then it is
    recorded whatever is due. What exceeds the balance due is kept as `overpaid`, to refund.
    """
    from .dunning import account_reinstate_if_settled

    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status == Invoice.Status.VOID:
        raise PaymentError(f"La facture {locked.number} est annulée : elle ne peut être payée.")
    due = max(invoice_balance_due(locked), ZERO)
    if due <= 0 and not money_taken:
        raise PaymentError(f"La facture {locked.number} n'a plus rien à payer.")
    if amount is None:
        amount = due
    if amount <= 0:
        raise PaymentError("Le montant d'un paiement doit être positif.")
    overpaid = max(amount - due, ZERO)
    payment = Payment.objects.create(
        invoice=locked,
        account_id=locked.account_id,
        method=method,
        amount=amount,
        overpaid=overpaid,
        received_at=received_at or timezone.now(),
        checkout=checkout,
        proof=proof,
        recorded_by=by,
    )
    invoice_settle(invoice=locked)
    details = {
        "montant": amount,
        "mode": payment.get_method_display(),
        "statut": locked.get_status_display(),
    }
    if overpaid:
        details["trop_perçu"] = overpaid
        logger.warning("Trop-perçu de %s DZD sur %s : à rembourser", overpaid, locked.number)
    audit_record(
        action=AuditEvent.Action.PAYMENT_RECORDED,
        actor=by,
        account=locked.account,
        target=locked.number,
        details=details,
    )
    logger.info("Paiement de %s DZD sur %s (%s)", amount, locked.number, method)
    account_reinstate_if_settled(account=locked.account, by=by)
    invoice.status, invoice.paid_at = locked.status, locked.paid_at
    return payment
