"""Prepaid recharges: bought by the customer, invoiced at once when paid (one line
« Recharge de crédits », TVA), then credited to the prepaid balance (HT, never expiring)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Account, AuditEvent, User
from iafactory.formatting import format_money

from ..models import (
    BillingSettings,
    ChargilyCheckout,
    Invoice,
    InvoiceLine,
    Payment,
    Recharge,
    TransferProof,
)
from ..money import ZERO, round_money
from ..periods import Month, local_date
from .close_invoicing import invoice_sequence_reserve
from .invoices import invoice_number, invoices_issued_notify, seller_snapshot
from .payments import payment_record
from .prepaid import prepaid_credit

logger = logging.getLogger(__name__)

HUNDRED = Decimal(100)
MAXIMUM = Decimal("10000000")
RECHARGE_LINE = "Recharge de crédits"


class RechargeError(ValueError):
    """An amount the customer may not buy; French message."""


def recharge_offers(billing: BillingSettings | None = None) -> list[Decimal]:
    """The offered amounts (DZD HT) from billing settings, at or above the minimum."""
    billing = billing or BillingSettings.load()
    offers = []
    for part in billing.recharge_amounts.split(","):
        try:
            amount = Decimal(part.strip())
        except InvalidOperation:
            continue
        if amount.is_finite() and amount >= billing.recharge_minimum:
            offers.append(round_money(amount))
    return sorted(set(offers))


def recharge_create(*, account: Account, amount: Decimal, by: User | None = None) -> Recharge:
    """A pending recharge for `amount` DZD HT, with its TVA as it will be invoiced."""
    billing = BillingSettings.load()
    if not amount.is_finite() or amount != round_money(amount):
        raise RechargeError(_("Indiquez un montant en dinars, au centime près."))
    if amount < billing.recharge_minimum:
        raise RechargeError(
            _("Le montant minimal d'une recharge est de %(minimum)s DZD HT.")
            % {"minimum": format_money(billing.recharge_minimum)}
        )
    if amount > MAXIMUM:
        raise RechargeError(_("Pour une recharge de ce montant, contactez-nous."))
    rate = ZERO if account.tva_exempt else billing.tva_rate
    tva = round_money(amount * rate / HUNDRED)
    return Recharge.objects.create(
        account=account,
        amount=amount,
        tva_rate=rate,
        tva_amount=tva,
        total_ttc=amount + tva,
        created_by=by,
    )


@transaction.atomic
def recharge_paid(
    *,
    recharge: Recharge,
    method: Payment.Method,
    received_at: datetime | None = None,
    checkout: ChargilyCheckout | None = None,
    proof: TransferProof | None = None,
    by: User | None = None,
) -> Recharge:
    """Paid: issue its invoice (paid), record the payment, credit the prepaid balance. Once.

    Paid again (a second checkout, or a transfer after an online payment): the money is
    recorded on its invoice as overpaid, for staff to refund; the balance is credited once.
    """
    locked = (
        Recharge.objects.select_for_update(of=("self",))
        .select_related("account__owner", "invoice")
        .get(pk=recharge.pk)
    )
    if locked.status == Recharge.Status.PAID:
        payment_record(
            invoice=locked.invoice,
            amount=checkout.amount if checkout is not None else locked.total_ttc,
            method=method,
            received_at=received_at,
            checkout=checkout,
            proof=proof,
            by=by,
            money_taken=True,
        )
        return locked
    now = timezone.now()
    account = locked.account
    billing = BillingSettings.load()
    year = local_date(now).year
    sequence = invoice_sequence_reserve(year=year, count=1)
    seller = seller_snapshot(billing)
    invoice = Invoice.objects.create(
        account=account,
        kind=Invoice.Kind.RECHARGE,
        period=None,
        month=Month.of(now).first_day,
        number=invoice_number(year=year, sequence=sequence),
        year=year,
        sequence=sequence,
        status=Invoice.Status.ISSUED,
        issued_at=now,
        due_date=local_date(now) + timedelta(days=billing.payment_term_days),
        customer_name=account.name,
        customer_email=account.owner.email,
        customer_address=account.billing_address,
        customer_nif=account.nif,
        customer_nis=account.nis,
        customer_rc=account.rc,
        customer_article=account.article,
        seller=seller,
        total_ht=locked.amount,
        tva_rate=locked.tva_rate,
        tva_amount=locked.tva_amount,
        total_ttc=locked.total_ttc,
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        kind=InvoiceLine.Kind.RECHARGE,
        description=f"{RECHARGE_LINE} ({locked.reference})",
        amount=locked.amount,
    )
    locked.status, locked.paid_at, locked.invoice = Recharge.Status.PAID, now, invoice
    locked.save(update_fields=["status", "paid_at", "invoice"])
    payment_record(
        invoice=invoice,
        amount=locked.total_ttc,
        method=method,
        received_at=received_at or now,
        checkout=checkout,
        proof=proof,
        by=by,
    )
    prepaid_credit(account=account, amount=locked.amount, reason=locked.reference, by=by)
    audit_record(
        action=AuditEvent.Action.RECHARGE_PAID,
        actor=by,
        account=account,
        target=locked.reference,
        details={"montant_ht": locked.amount, "facture": invoice.number},
    )
    transaction.on_commit(lambda: invoices_issued_notify(invoices=[invoice]))
    logger.info("Recharge %s payée : %s DZD HT crédités", locked.reference, locked.amount)
    return locked
