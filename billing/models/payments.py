from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.models import Account

from ..money import AMOUNT_DIGITS
from .invoices import Invoice


class Recharge(models.Model):
    """A prepaid recharge bought by the customer: invoiced and credited once it is paid."""

    class Status(models.TextChoices):
        # Shown to the customer (issue 15): translated labels.
        PENDING = "pending", gettext_lazy("En attente de paiement")
        PAID = "paid", pgettext_lazy("recharge", "Payée")

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="recharges", verbose_name="compte client"
    )
    amount = models.DecimalField("montant HT", **AMOUNT_DIGITS)
    tva_rate = models.DecimalField("taux de TVA (%)", max_digits=5, decimal_places=2)
    tva_amount = models.DecimalField("TVA", **AMOUNT_DIGITS)
    total_ttc = models.DecimalField("total TTC", **AMOUNT_DIGITS)
    status = models.CharField(
        "statut", max_length=8, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField("demandée le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="demandée par",
    )
    paid_at = models.DateTimeField("payée le", null=True, blank=True)
    invoice = models.OneToOneField(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recharge",
        verbose_name="facture",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "recharge de crédits"
        verbose_name_plural = "recharges de crédits"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recharge_positive"),
        ]

    def __str__(self) -> str:
        return f"Recharge n° {self.pk} — {self.account} : {self.amount} DZD HT"

    @property
    def reference(self) -> str:
        return f"RC-{self.pk:06d}"


class ChargilyCheckout(models.Model):
    """A Chargily Pay checkout created for an invoice or a recharge (exact TTC, DZD)."""

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        PAID = "paid", "Payé"
        FAILED = "failed", "Échoué"
        EXPIRED = "expired", "Remplacé"

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="checkouts", verbose_name="compte client"
    )
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkouts",
        verbose_name="facture",
    )
    recharge = models.ForeignKey(
        Recharge,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkouts",
        verbose_name="recharge",
    )
    chargily_id = models.CharField("identifiant Chargily", max_length=100, unique=True)
    amount = models.DecimalField("montant TTC", **AMOUNT_DIGITS)
    currency = models.CharField("devise", max_length=3, default="dzd")
    checkout_url = models.URLField("adresse de paiement", max_length=500)
    status = models.CharField(
        "statut", max_length=8, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    completed_at = models.DateTimeField("terminé le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "paiement en ligne (Chargily)"
        verbose_name_plural = "paiements en ligne (Chargily)"
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=False, recharge__isnull=True)
                | Q(invoice__isnull=True, recharge__isnull=False),
                name="checkout_pays_one_thing",
            ),
        ]

    def __str__(self) -> str:
        return self.chargily_id


def proof_upload_to(instance: "TransferProof", filename: str) -> str:
    # The stored name never comes from the customer: only the extension checked from the bytes.
    import secrets

    return f"proofs/{instance.account_id}/{secrets.token_hex(16)}.{instance.extension}"


class TransferProof(models.Model):
    """A customer's proof of bank transfer, reviewed by staff (approved → a payment)."""

    class Status(models.TextChoices):
        # Shown to the customer (issue 15): translated labels.
        PENDING = "pending", gettext_lazy("À vérifier")
        APPROVED = "approved", pgettext_lazy("preuve de virement", "Acceptée")
        REJECTED = "rejected", pgettext_lazy("preuve de virement", "Refusée")

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="proofs", verbose_name="compte client"
    )
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proofs",
        verbose_name="facture",
    )
    recharge = models.ForeignKey(
        Recharge,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proofs",
        verbose_name="recharge",
    )
    file = models.FileField("fichier", upload_to=proof_upload_to, max_length=200)
    content_type = models.CharField("type", max_length=40)
    size = models.PositiveIntegerField("taille (octets)")
    original_name = models.CharField("nom d'origine", max_length=200, blank=True)
    uploaded_at = models.DateTimeField("envoyée le", auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="envoyée par",
    )
    status = models.CharField(
        "statut", max_length=8, choices=Status.choices, default=Status.PENDING
    )
    reviewed_at = models.DateTimeField("vérifiée le", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="vérifiée par",
    )
    received_on = models.DateField("virement reçu le", null=True, blank=True)
    rejection_reason = models.TextField("motif du refus", blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        verbose_name = "preuve de virement"
        verbose_name_plural = "preuves de virement"
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=False, recharge__isnull=True)
                | Q(invoice__isnull=True, recharge__isnull=False),
                name="proof_pays_one_thing",
            ),
        ]

    EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

    def __str__(self) -> str:
        return f"Preuve n° {self.pk} — {self.account}"

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.content_type, "bin")


class Payment(models.Model):
    """Money received against an invoice: once per checkout, once per approved proof."""

    class Method(models.TextChoices):
        # Shown to the customer (issue 15): translated labels.
        CHARGILY = "chargily", gettext_lazy("En ligne (CIB / Edahabia)")
        TRANSFER = "transfer", gettext_lazy("Virement bancaire")
        MANUAL = "manual", gettext_lazy("Enregistré par l'équipe")

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="payments", verbose_name="facture"
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="payments", verbose_name="compte client"
    )
    method = models.CharField("mode", max_length=8, choices=Method.choices)
    amount = models.DecimalField("montant TTC", **AMOUNT_DIGITS)
    # The part of `amount` received beyond what was due (paid twice, stale amount): kept, never
    # counted against the invoice, listed for staff to refund.
    overpaid = models.DecimalField("trop-perçu à rembourser", default=0, **AMOUNT_DIGITS)
    received_at = models.DateTimeField("reçu le")
    checkout = models.OneToOneField(
        ChargilyCheckout,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment",
        verbose_name="paiement en ligne",
    )
    proof = models.OneToOneField(
        TransferProof,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment",
        verbose_name="preuve de virement",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="enregistré par",
    )
    created_at = models.DateTimeField("enregistré le", auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = "paiement"
        verbose_name_plural = "paiements"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} : {self.amount} DZD ({self.get_method_display()})"


class WebhookEvent(models.Model):
    """Every webhook received, kept as it came (raw body) with what was decided."""

    class Verdict(models.TextChoices):
        RECORDED = "recorded", "Paiement enregistré"
        DUPLICATE = "duplicate", "Déjà enregistré"
        BAD_SIGNATURE = "bad_signature", "Signature invalide"
        MALFORMED = "malformed", "Illisible"
        UNKNOWN_CHECKOUT = "unknown_checkout", "Paiement inconnu"
        MISMATCH = "mismatch", "Montant ou devise différents"
        OVERPAID = "overpaid", "Trop-perçu à rembourser"
        FAILED = "failed", "Paiement échoué"
        IGNORED = "ignored", "Ignoré"

    received_at = models.DateTimeField("reçu le", auto_now_add=True)
    body = models.TextField("corps brut")
    signature = models.CharField("signature", max_length=200, blank=True)
    event_type = models.CharField("type", max_length=60, blank=True)
    chargily_id = models.CharField("paiement Chargily", max_length=100, blank=True)
    verdict = models.CharField("verdict", max_length=16, choices=Verdict.choices)
    detail = models.CharField("détail", max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = "webhook reçu"
        verbose_name_plural = "webhooks reçus"
        indexes = [models.Index(fields=["chargily_id"])]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.event_type} {self.verdict}"
