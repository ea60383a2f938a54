"""Bank transfers with a proof: the customer uploads it, staff approve (→ a payment) or
reject it with a reason the customer sees. E-mails both ways."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.email_language import user_language
from accounts.models import Account, AuditEvent, User

from ..models import BillingSettings, Invoice, Payment, Recharge, TransferProof
from ..periods import local_date
from .payments import OPEN_STATUSES, PaymentError, payment_record

logger = logging.getLogger(__name__)

MAX_SIZE = 5 * 1024 * 1024
MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


class ProofError(ValueError):
    """An upload or a review refused; French message."""


def sniff_content_type(head: bytes) -> str | None:
    """PDF, JPEG or PNG from the file's first bytes, whatever its name or declared type."""
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    return None


def _mail(to: list[str], subject: str, body: str) -> None:
    recipients = [address for address in to if address]
    if recipients:
        send_mail(f"[IAFactory] {subject}", body, None, recipients)


def _mail_owner(owner: User, compose) -> None:
    """E-mail the account owner in their language: `compose()` gives subject and body."""
    with translation.override(user_language(owner)):
        subject, body = compose()
    _mail([owner.email], subject, body)


def _what(proof: TransferProof) -> str:
    if proof.invoice_id:
        return _("la facture %(number)s") % {"number": proof.invoice.number}
    return _("la recharge %(reference)s") % {"reference": proof.recharge.reference}


def _received(proof: TransferProof, payment: Payment) -> tuple[str, str]:
    return _("Virement reçu"), _(
        "Bonjour,\n\nNous avons bien reçu votre virement pour %(what)s (%(amount)s DZD). "
        "Merci.\n\nL'équipe IAFactory\n"
    ) % {"what": _what(proof), "amount": payment.amount}


def _rejected(proof: TransferProof, reason: str) -> tuple[str, str]:
    return _("Preuve de virement refusée"), _(
        "Bonjour,\n\nLa preuve de virement envoyée pour %(what)s n'a pas été acceptée.\n"
        "Motif : %(reason)s\n\nVous pouvez en envoyer une autre depuis votre espace client."
        "\n\nL'équipe IAFactory\n"
    ) % {"what": _what(proof), "reason": reason}


@transaction.atomic
def proof_upload(
    *,
    account: Account,
    upload: UploadedFile,
    by: User | None = None,
    invoice: Invoice | None = None,
    recharge: Recharge | None = None,
) -> TransferProof:
    if invoice is not None and (
        invoice.account_id != account.pk or invoice.status not in OPEN_STATUSES
    ):
        raise ProofError(_("Cette facture n'est pas à payer."))
    if recharge is not None and (
        recharge.account_id != account.pk or recharge.status != Recharge.Status.PENDING
    ):
        raise ProofError(_("Cette recharge n'est pas à payer."))
    if upload.size > MAX_SIZE:
        raise ProofError(_("Le fichier dépasse 5 Mo : envoyez une version plus légère."))
    if upload.size == 0:
        raise ProofError(_("Le fichier est vide."))
    upload.seek(0)
    content_type = sniff_content_type(upload.read(16))
    upload.seek(0)
    if content_type is None:
        raise ProofError(_("Format non accepté : envoyez un PDF, un JPEG ou un PNG."))
    proof = TransferProof(
        account=account,
        invoice=invoice,
        recharge=recharge,
        content_type=content_type,
        size=upload.size,
        original_name=(upload.name or "")[:200],
        uploaded_by=by,
    )
    proof.file.save("preuve", upload, save=False)
    proof.save()
    billing = BillingSettings.load()
    transaction.on_commit(lambda: _mail_staff(billing.company_email, account, proof))
    return proof


def _mail_staff(address: str, account: Account, proof: TransferProof) -> None:
    with translation.override(settings.LANGUAGE_CODE):  # staff work in French
        what = _what(proof)
    _mail(
        [address],
        f"Preuve de virement à vérifier — {account.name}",
        f"Le compte « {account.name} » a envoyé une preuve de virement pour {what}.\n"
        f"À vérifier dans l'administration : {settings.SITE_URL}/admin/billing/transferproof/"
        f"{proof.pk}/change/\n",
    )


def _locked_pending(proof: TransferProof) -> TransferProof:
    locked = (
        TransferProof.objects.select_for_update(of=("self",))
        .select_related("account__owner", "invoice", "recharge")
        .get(pk=proof.pk)
    )
    if locked.status != TransferProof.Status.PENDING:
        raise ProofError(f"Cette preuve a déjà été {locked.get_status_display().lower()}.")
    return locked


@transaction.atomic
def proof_approve(
    *,
    proof: TransferProof,
    received_on: date,
    amount: Decimal | None = None,
    by: User | None = None,
) -> Payment:
    """Approved: `amount` (default: the balance due, computed under the invoice lock) was
    received on `received_on`; less than due leaves the invoice partly paid."""
    from .recharges import recharge_paid

    locked = _locked_pending(proof)
    received_at = timezone.make_aware(datetime.combine(received_on, time(12)))
    if received_on > local_date(timezone.now()):
        raise ProofError("La date de réception ne peut pas être dans le futur.")
    if amount is not None and amount <= 0:
        raise ProofError("Le montant reçu doit être positif.")
    locked.status, locked.received_on = TransferProof.Status.APPROVED, received_on
    locked.reviewed_at, locked.reviewed_by = timezone.now(), by
    locked.save(update_fields=["status", "received_on", "reviewed_at", "reviewed_by"])
    if locked.invoice_id is not None:
        try:
            payment = payment_record(
                invoice=locked.invoice,
                amount=amount,
                method=Payment.Method.TRANSFER,
                received_at=received_at,
                proof=locked,
                by=by,
            )
        except PaymentError as error:
            raise ProofError(str(error)) from error
    else:
        if amount is not None and amount != locked.recharge.total_ttc:
            raise ProofError(
                f"Une recharge se règle en une fois : {locked.recharge.total_ttc} DZD TTC."
            )
        recharge_paid(
            recharge=locked.recharge,
            method=Payment.Method.TRANSFER,
            received_at=received_at,
            proof=locked,
            by=by,
        )
        payment = Payment.objects.get(proof=locked)
    audit_record(
        action=AuditEvent.Action.PROOF_APPROVED,
        actor=by,
        account=locked.account,
        target=f"Preuve n° {locked.pk}",
        details={"reçu_le": received_on, "montant": payment.amount},
    )
    owner = locked.account.owner
    transaction.on_commit(lambda: _mail_owner(owner, lambda: _received(locked, payment)))
    return payment


@transaction.atomic
def proof_reject(*, proof: TransferProof, reason: str, by: User | None = None) -> TransferProof:
    reason = reason.strip()
    if not reason:
        raise ProofError("Indiquez le motif du refus : le client le verra.")
    locked = _locked_pending(proof)
    locked.status, locked.rejection_reason = TransferProof.Status.REJECTED, reason
    locked.reviewed_at, locked.reviewed_by = timezone.now(), by
    locked.save(update_fields=["status", "rejection_reason", "reviewed_at", "reviewed_by"])
    audit_record(
        action=AuditEvent.Action.PROOF_REJECTED,
        actor=by,
        account=locked.account,
        target=f"Preuve n° {locked.pk}",
        details={"motif": reason},
    )
    owner = locked.account.owner
    transaction.on_commit(lambda: _mail_owner(owner, lambda: _rejected(locked, reason)))
    return locked
