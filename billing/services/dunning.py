"""Due dates, reminders and suspension for unpaid invoices (DESIGN.md §3).

Reminders at the due date and at +7 days; at +N days (billing settings) the account is
suspended (authorize says `unpaid_invoice`) unless staff exempt it; a payment or a credit
note that settles the invoice lifts it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.audit import audit_record
from accounts.email_language import user_language
from accounts.models import Account, AuditEvent, User
from accounts.selectors import billing_recipients
from iafactory.formatting import format_money

from ..models import AccountStanding, BillingSettings, Invoice, InvoiceReminder
from ..periods import local_date
from .payments import OPEN_STATUSES, invoice_balance_due

logger = logging.getLogger(__name__)

LATE_DAYS = 7


def invoice_due_date(*, issued_at: datetime, billing: BillingSettings | None = None) -> date:
    billing = billing or BillingSettings.load()
    return local_date(issued_at) + timedelta(days=billing.payment_term_days)


def account_suspension(account: Account) -> AccountStanding | None:
    """The account's standing when it is suspended now (staff exemption lifts it)."""
    standing = AccountStanding.objects.filter(
        account=account, suspended_at__isnull=False, exempt=False
    ).select_related("suspended_for")
    return standing.first()


def _overdue_unpaid(account: Account, today: date, billing: BillingSettings):
    limit = today - timedelta(days=billing.suspension_days)
    return Invoice.objects.filter(
        account=account, status__in=OPEN_STATUSES, due_date__lte=limit
    ).order_by("due_date", "pk")


def account_reinstate_if_settled(*, account: Account, by: User | None = None) -> bool:
    """Lift the suspension at once when no invoice past the suspension delay is unpaid."""
    standing = AccountStanding.objects.select_for_update().filter(
        account=account, suspended_at__isnull=False
    )
    standing = standing.first()
    if standing is None:
        return False
    billing = BillingSettings.load()
    if _overdue_unpaid(account, local_date(timezone.now()), billing).exists():
        return False
    standing.suspended_at, standing.suspended_for = None, None
    standing.save(update_fields=["suspended_at", "suspended_for"])
    audit_record(
        action=AuditEvent.Action.ACCOUNT_REINSTATED, actor=by, account=account, target=str(account)
    )
    logger.info("Compte %s : suspension levée", account.pk)
    return True


@transaction.atomic
def account_exemption_set(*, account: Account, exempt: bool, by: User | None = None) -> None:
    standing, _created = AccountStanding.objects.select_for_update().get_or_create(account=account)
    if standing.exempt == exempt:
        return
    standing.exempt, standing.exempt_by = exempt, by if exempt else None
    standing.save(update_fields=["exempt", "exempt_by"])
    audit_record(
        action=AuditEvent.Action.SUSPENSION_EXEMPTION,
        actor=by,
        account=account,
        target=str(account),
        details={"exempté": exempt},
    )


def _remind(invoice: Invoice, kind: str, compose: Callable[[], tuple[str, str]]) -> bool:
    """Send one reminder of this kind for this invoice, once (the row is the proof), in the
    account owner's language: `compose()` gives its subject and body."""
    try:
        with transaction.atomic():
            InvoiceReminder.objects.create(invoice=invoice, kind=kind)
            audit_record(
                action=AuditEvent.Action.REMINDER_SENT,
                account=invoice.account,
                target=invoice.number,
                details={"relance": kind},
            )
            with translation.override(user_language(invoice.account.owner)):
                subject, body = compose()
            recipients = billing_recipients(invoice.account, first=invoice.customer_email)
            send_mail(f"[IAFactory] {subject}", body, None, recipients)
    except IntegrityError:
        return False
    return True


def _body(invoice: Invoice, opening: str) -> str:
    due = invoice_balance_due(invoice)
    return "{}\n\n{}\n\n{}\n{}\n\n{}\n".format(
        _("Bonjour,"),
        opening,
        _("Facture %(number)s, échéance le %(due_date)s, reste à payer : %(due)s DZD TTC.")
        % {
            "number": invoice.number,
            "due_date": f"{invoice.due_date:%d/%m/%Y}",
            "due": format_money(due),
        },
        _("Payer en ligne ou envoyer une preuve de virement : %(url)s")
        % {"url": f"{settings.SITE_URL}/espace-client/factures/{invoice.number}/"},
        _("L'équipe IAFactory"),
    )


def _due_reminder(invoice: Invoice) -> tuple[str, str]:
    return (
        _("Facture %(number)s à échéance") % {"number": invoice.number},
        _body(invoice, _("Votre facture arrive à échéance aujourd'hui.")),
    )


def _late_reminder(invoice: Invoice) -> tuple[str, str]:
    return (
        _("Relance : facture %(number)s impayée") % {"number": invoice.number},
        _body(invoice, _("Sauf erreur de notre part, votre facture reste impayée.")),
    )


def _suspension_notice(invoice: Invoice, days: int) -> tuple[str, str]:
    opening = ngettext(
        "Votre accès à l'API est suspendu : une facture reste impayée plus de %(days)s jour "
        "après son échéance. Il est rétabli dès son paiement.",
        "Votre accès à l'API est suspendu : une facture reste impayée plus de %(days)s jours "
        "après son échéance. Il est rétabli dès son paiement.",
        days,
    ) % {"days": days}
    return _("Accès à l'API suspendu"), _body(invoice, opening)


def invoices_dun(*, today: date | None = None) -> dict[str, int]:
    """Daily (Celery beat): reminders due today or missed, and suspensions. Safe to rerun."""
    today = today or local_date(timezone.now())
    billing = BillingSettings.load()
    counts = {"due": 0, "late": 0, "suspended": 0}
    unpaid = (
        Invoice.objects.filter(status__in=OPEN_STATUSES, due_date__lte=today)
        .select_related("account__owner")
        .order_by("due_date", "pk")
    )
    for invoice in unpaid.iterator(chunk_size=500):
        sent = set(invoice.reminders.values_list("kind", flat=True))
        if InvoiceReminder.Kind.DUE not in sent and _remind(
            invoice, InvoiceReminder.Kind.DUE, lambda invoice=invoice: _due_reminder(invoice)
        ):
            counts["due"] += 1
        late = invoice.due_date + timedelta(days=LATE_DAYS) <= today
        if (
            late
            and InvoiceReminder.Kind.LATE not in sent
            and _remind(
                invoice,
                InvoiceReminder.Kind.LATE,
                lambda invoice=invoice: _late_reminder(invoice),
            )
        ):
            counts["late"] += 1
        if invoice.due_date + timedelta(days=billing.suspension_days) <= today:
            counts["suspended"] += _suspend(invoice, today)
    return counts


@transaction.atomic
def _suspend(invoice: Invoice, today: date) -> int:
    # The list of unpaid invoices is a snapshot: lock the invoice first (the order of
    # payment_record: Invoice, then AccountStanding) and check it is still unpaid and overdue.
    invoice = Invoice.objects.select_for_update().select_related("account").get(pk=invoice.pk)
    limit = today - timedelta(days=BillingSettings.load().suspension_days)
    if invoice.status not in OPEN_STATUSES or invoice.due_date > limit:
        return 0
    standing, _created = AccountStanding.objects.select_for_update().get_or_create(
        account=invoice.account
    )
    if standing.exempt or standing.suspended_at is not None:
        return 0
    standing.suspended_at, standing.suspended_for = timezone.now(), invoice
    standing.save(update_fields=["suspended_at", "suspended_for"])
    audit_record(
        action=AuditEvent.Action.ACCOUNT_SUSPENDED,
        account=invoice.account,
        target=str(invoice.account),
        details={"facture": invoice.number},
    )
    days = BillingSettings.load().suspension_days
    _remind(
        invoice,
        InvoiceReminder.Kind.SUSPENDED,
        lambda: _suspension_notice(invoice, days),
    )
    logger.info("Compte %s suspendu (facture %s)", invoice.account_id, invoice.number)
    return 1
