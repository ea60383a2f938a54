"""Credit notes (factures d'avoir): the only correction of an issued invoice, for all of it
or some of its lines, numbered AV-YYYY-NNNNNN in their own gapless yearly sequence."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, User

from ..models import CreditNote, CreditNoteLine, CreditNoteSequence, Invoice, InvoiceLine
from ..money import ZERO, round_money
from ..periods import local_date
from .payments import invoice_settle
from .prepaid import PrepaidError, prepaid_balance, prepaid_credit

logger = logging.getLogger(__name__)

HUNDRED = Decimal(100)


class CreditNoteError(ValueError):
    """A credit note that cannot be issued; French message."""


def credit_note_number(*, year: int, sequence: int) -> str:
    return f"AV-{year:04d}-{sequence:06d}"


def line_credited(line: InvoiceLine) -> Decimal:
    return line.credit_lines.aggregate(total=Sum("amount"))["total"] or ZERO


def _sequence_next(year: int) -> int:
    """The year's next number; the row stays locked until the caller commits: no gap."""
    sequence, _ = CreditNoteSequence.objects.select_for_update().get_or_create(year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    reason: str,
    line_ids: list[int] | None = None,
    by: User | None = None,
) -> CreditNote:
    """Credit what is left of the chosen lines (all lines when `line_ids` is None)."""
    reason = reason.strip()
    if not reason:
        raise CreditNoteError("Indiquez le motif de l'avoir.")
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status == Invoice.Status.VOID:
        raise CreditNoteError(f"La facture {locked.number} est annulée.")
    lines = list(locked.lines.order_by("position"))
    if line_ids is not None:
        chosen = set(line_ids)
        lines = [line for line in lines if line.pk in chosen]
    to_credit = [(line, line.amount - line_credited(line)) for line in lines]
    to_credit = [(line, amount) for line, amount in to_credit if amount > 0]
    if not to_credit:
        raise CreditNoteError(f"Les lignes choisies de {locked.number} sont déjà créditées.")
    total_ht = sum((amount for _, amount in to_credit), ZERO)
    already = locked.credit_notes.aggregate(ht=Sum("total_ht"), tva=Sum("tva_amount"))
    credited_ht, credited_tva = already["ht"] or ZERO, already["tva"] or ZERO
    if credited_ht + total_ht == locked.total_ht:
        # What is left of the invoice: its TVA exactly, so a full credit cancels it to the centime.
        tva = locked.tva_amount - credited_tva
    else:
        tva = round_money(total_ht * locked.tva_rate / HUNDRED)
    now = timezone.now()
    year = local_date(now).year
    sequence = _sequence_next(year)
    note = CreditNote.objects.create(
        account_id=locked.account_id,
        invoice=locked,
        number=credit_note_number(year=year, sequence=sequence),
        year=year,
        sequence=sequence,
        issued_at=now,
        reason=reason,
        total_ht=total_ht,
        tva_rate=locked.tva_rate,
        tva_amount=tva,
        total_ttc=total_ht + tva,
        issued_by=by,
    )
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(
            credit_note=note,
            invoice_line=line,
            position=position,
            description=line.description,
            amount=amount,
        )
        for position, (line, amount) in enumerate(to_credit, start=1)
    )
    if locked.kind == Invoice.Kind.RECHARGE:
        # The credits a recharge bought are taken back with it, unless already spent.
        try:
            prepaid_credit(
                account=locked.account,
                amount=-total_ht,
                reason=f"Avoir {note.number} sur {locked.number}",
                by=by,
            )
        except PrepaidError as error:
            raise CreditNoteError(
                f"Le solde prépayé ({prepaid_balance(account=locked.account)} DZD HT) ne "
                f"couvre plus les {total_ht} DZD HT de cet avoir : les crédits ont déjà été "
                "consommés."
            ) from error
    invoice_settle(invoice=locked)
    audit_record(
        action=AuditEvent.Action.CREDIT_NOTE_ISSUED,
        actor=by,
        account=locked.account,
        target=note.number,
        details={"facture": locked.number, "total_ttc": note.total_ttc, "motif": reason},
    )
    logger.info("Avoir %s sur %s : %s DZD TTC", note.number, locked.number, note.total_ttc)
    from .dunning import account_reinstate_if_settled

    account_reinstate_if_settled(account=locked.account, by=by)
    return note
