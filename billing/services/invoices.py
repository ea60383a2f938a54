"""Invoices after issue: their wording, the owner's e-mail, and the only changes allowed
(payments, credit notes). Issuing them is the monthly close's job (billing/services/close.py)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from num2words import num2words

from accounts.audit import audit_record
from accounts.email_language import user_language
from accounts.models import AuditEvent, User
from accounts.selectors import billing_recipients, recipients_prefetch
from iafactory.formatting import day_label, format_integer, format_money, month_label

from ..models import DEFAULT_PAYMENT_TERMS, BillingSettings, Invoice, InvoiceLine, Payment
from ..overage import quantity_label, unit_price_label
from ..periods import Month

logger = logging.getLogger(__name__)

NOTIFY_BATCH = 500


class InvoiceStateError(ValueError):
    """The requested change is not allowed from the invoice's current status."""


def invoice_number(*, year: int, sequence: int) -> str:
    return f"FA-{year:04d}-{sequence:06d}"


def fee_line_description(*, plan_name: str, first_day: date, days: int) -> str:
    """« Formule Standard — 1er au 15 novembre 2026 (15 jours) »; one day: « — 30 novembre
    2026 (1 jour) ». Always French: the invoice's designation as issued (its translations are
    billing.document_wording's)."""
    last_day = first_day + timedelta(days=days - 1)
    plural = "s" if days > 1 else ""
    with translation.override("fr"):
        first, last, month = day_label(first_day), day_label(last_day), month_label(first_day)
    if days == 1:
        return f"Formule {plan_name} — {first} {month} (1 jour)"
    return f"Formule {plan_name} — {first} au {last} {month} ({days} jour{plural})"


def overage_line_description(*, model_name: str) -> str:
    return f"Consommation au-delà des crédits — {model_name}"


def tva_label(rate: Decimal) -> str:
    """« TVA 19 % », or « TVA (exonéré) » for an exempt customer's invoice (in the active
    language: « VAT 19 % »)."""
    if rate == 0:
        return _("TVA (exonéré)")
    label = _("TVA")
    return f"{label} {rate.normalize():f}\u00a0%".replace(".", ",")


def line_quantity(line: InvoiceLine) -> str:
    """« 30 jours », « 12 images », or input and output tokens on two lines; in French, as the
    invoice was issued (billing.document_wording says it in the reader's language)."""
    with translation.override("fr"):
        return _line_quantity(line)


def _line_quantity(line: InvoiceLine) -> str:
    if line.kind == InvoiceLine.Kind.FEE:
        return f"{line.days} jour{'s' if line.days and line.days > 1 else ''}"
    if line.unit:  # issue 15: the quantity beyond the credits, at one unit price
        return quantity_label(unit=line.unit, quantity=line.billed_quantity)
    if line.images is not None:
        return f"{format_integer(line.images)} image{'s' if line.images > 1 else ''}"
    return (
        f"{format_integer(line.input_tokens or 0)} tokens entrée\n"
        f"{format_integer(line.output_tokens or 0)} tokens sortie"
    )


def line_unit_price(line: InvoiceLine) -> str:
    """« 250,00 DZD / 1M tokens », « 8,00 DZD / image »; empty on fee lines and on overage
    lines issued before unit prices were printed."""
    if not line.unit:
        return ""
    return unit_price_label(unit=line.unit, unit_price=line.unit_price)


def seller_snapshot(billing: BillingSettings) -> dict[str, str | int]:
    """The seller's legal details as printed on an invoice issued now."""
    return {
        "name": billing.company_name,
        "address": billing.company_address,
        "nif": billing.company_nif,
        "nis": billing.company_nis,
        "rc": billing.company_rc,
        "article": billing.company_article,
        "bank": billing.company_bank,
        "email": billing.company_email,
        "payment_terms": billing.payment_terms or DEFAULT_PAYMENT_TERMS,
        "payment_term_days": billing.payment_term_days,
    }


def payment_terms_text(terms: str) -> str:
    """An invoice's payment terms in the active language: the default sentence is translated,
    terms staff wrote themselves are printed as written."""
    if terms == DEFAULT_PAYMENT_TERMS:
        return _(
            "Payable au plus tard à la date d'échéance indiquée, en ligne (CIB / Edahabia) ou "
            "par virement bancaire."
        )
    return terms


class _IssuedEmail:
    """The issue e-mail's templates, looked up once for a whole batch of invoices."""

    def __init__(self) -> None:
        self.subject = get_template("billing/emails/invoice_issued_subject.txt")
        self.text = get_template("billing/emails/invoice_issued.txt")
        self.html = get_template("billing/emails/invoice_issued.html")
        # reverse() once: the number is the only part that changes.
        marker = "FA-0000-000000"
        path = reverse("billing:invoice_detail", kwargs={"number": marker})
        self.url = f"{settings.SITE_URL}{path}".replace(marker, "{number}")

    def message(self, invoice: Invoice, language: str) -> EmailMultiAlternatives:
        """The e-mail in `language`, the account owner's (issue 15)."""
        with translation.override(language):
            context = {
                "invoice": invoice,
                "month_label": month_label(invoice.month),
                "url": self.url.format(number=invoice.number),
                "total_ht": format_money(invoice.total_ht),
                "tva": format_money(invoice.tva_amount),
                "total_ttc": format_money(invoice.total_ttc),
                "tva_label": tva_label(invoice.tva_rate),
                "payment_terms": payment_terms_text(invoice.seller.get("payment_terms", "")),
            }
            message = EmailMultiAlternatives(
                subject=" ".join(self.subject.render(context).split()),
                body=self.text.render(context),
                to=billing_recipients(invoice.account, first=invoice.customer_email),
            )
            message.attach_alternative(self.html.render(context), "text/html")
        return message


def invoices_issued_notify(*, invoices: list[Invoice]) -> int:
    """E-mail each account's billing recipients (accounts.selectors.billing_recipients) about a
    newly issued invoice, once: `emailed_at` marks it sent.

    Rows another process has locked are skipped: it is sending those right now.
    """
    sent = 0
    for start in range(0, len(invoices), NOTIFY_BATCH):
        sent += _notify_batch(invoices[start : start + NOTIFY_BATCH])
    return sent


@transaction.atomic
def _notify_batch(invoices: list[Invoice]) -> int:
    to_send = set(
        Invoice.objects.select_for_update(skip_locked=True)
        .filter(pk__in=[invoice.pk for invoice in invoices], emailed_at__isnull=True)
        .exclude(customer_email="")
        .exclude(status=Invoice.Status.VOID)
        .values_list("pk", flat=True)
    )
    if not to_send:
        return 0
    email = _IssuedEmail()
    related, prefetched = recipients_prefetch("account__")
    invoices = list(
        Invoice.objects.filter(pk__in=to_send)
        .select_related(*related)
        .prefetch_related(*prefetched)
        .order_by("pk")
    )
    # Sent inside the transaction: if sending fails, emailed_at stays empty and a later run
    # sends again (at least once rather than never).
    get_connection().send_messages(
        [email.message(invoice, user_language(invoice.account.owner)) for invoice in invoices]
    )
    Invoice.objects.filter(pk__in=to_send).update(emailed_at=timezone.now())
    return len(to_send)


def invoices_issued_notify_pending(*, month: Month | None = None) -> int:
    """Send the issue e-mails a killed close never sent (all months, or one)."""
    pending = Invoice.objects.filter(emailed_at__isnull=True).exclude(customer_email="")
    pending = pending.exclude(status=Invoice.Status.VOID)
    if month is not None:
        pending = pending.filter(month=month.first_day)
    sent = 0
    last_pk = 0
    while True:
        batch = list(pending.filter(pk__gt=last_pk).order_by("pk")[:NOTIFY_BATCH])
        if not batch:
            return sent
        sent += invoices_issued_notify(invoices=batch)
        last_pk = batch[-1].pk


def invoice_mark_paid(*, invoice: Invoice, by: User | None = None) -> Invoice:
    """Staff record that the balance due was received (idempotent on a paid invoice).

    An issued invoice is never voided: it is corrected by a credit note (credit_notes.py).
    """
    from .payments import OPEN_STATUSES, invoice_balance_due, payment_record

    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status not in OPEN_STATUSES:
            if locked.status == Invoice.Status.PAID:
                return locked
            raise InvoiceStateError(
                f"La facture {locked.number} est {locked.get_status_display().lower()} : "
                "rien à encaisser."
            )
        payment_record(
            invoice=locked,
            amount=invoice_balance_due(locked),
            method=Payment.Method.MANUAL,
            by=by,
        )
        locked.refresh_from_db()
        audit_record(
            action=AuditEvent.Action.INVOICE_PAID,
            actor=by,
            account=locked.account,
            target=locked.number,
            details={"total_ttc": locked.total_ttc, "mois": locked.month},
        )
        logger.info("Facture %s : payée", locked.number)
        return locked


def amount_in_words(amount: Decimal) -> str:
    """« mille cent quatre-vingt-dix dinars algériens et quarante centimes »."""
    dinars = int(amount)
    centimes = int((amount - dinars) * 100)
    words = num2words(dinars, lang="fr")
    # « un million de dinars », but « un million deux dinars ».
    if dinars and dinars % 1_000_000 == 0:
        words += " de"
    words += " dinar algérien" if dinars < 2 else " dinars algériens"
    if centimes:
        words += f" et {num2words(centimes, lang='fr')} centime{'s' if centimes > 1 else ''}"
    return words
