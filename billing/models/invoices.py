from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from accounts.models import Account
from catalog.models import PRICE_DIGITS, AIModel, Plan

from ..money import AMOUNT_DIGITS
from .usage import BillingPeriod


class InvoiceSequence(models.Model):
    """Last invoice number given in a year; locked while numbering so there is never a gap."""

    year = models.PositiveSmallIntegerField("année", primary_key=True)
    last = models.PositiveIntegerField("dernier numéro", default=0)

    class Meta:
        verbose_name = "séquence de numérotation"
        verbose_name_plural = "séquences de numérotation"

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Invoice(models.Model):
    """An issued invoice; its content never changes after issue. Its status follows from its
    balance due (TTC − payments − credit notes); `void` only on invoices voided before
    credit notes existed."""

    class Status(models.TextChoices):
        ISSUED = "issued", "Émise"
        PARTLY_PAID = "partly_paid", "Partiellement payée"
        PAID = "paid", "Payée"
        CREDITED = "credited", "Créditée (avoir)"
        VOID = "void", "Annulée"

    class Kind(models.TextChoices):
        MONTHLY = "monthly", "Mensuelle"
        RECHARGE = "recharge", "Recharge de crédits"

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="invoices", verbose_name="compte client"
    )
    kind = models.CharField(
        "type", max_length=8, choices=Kind.choices, default=Kind.MONTHLY, db_default="monthly"
    )
    period = models.OneToOneField(
        BillingPeriod,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice",
        verbose_name="période",
    )
    month = models.DateField("mois facturé")
    number = models.CharField("numéro", max_length=20, unique=True)
    year = models.PositiveSmallIntegerField("année")
    sequence = models.PositiveIntegerField("rang dans l'année")
    status = models.CharField(
        "statut", max_length=12, choices=Status.choices, default=Status.ISSUED
    )
    issued_at = models.DateTimeField("émise le")
    due_date = models.DateField("échéance", null=True, blank=True)
    paid_at = models.DateTimeField("payée le", null=True, blank=True)
    voided_at = models.DateTimeField("annulée le", null=True, blank=True)
    # Delivery bookkeeping, not invoice content: a resumed close e-mails what a killed one did not.
    emailed_at = models.DateTimeField("e-mail envoyé le", null=True, blank=True)
    # The customer's and the seller's legal details as they were at issue.
    customer_name = models.CharField("client", max_length=200)
    customer_email = models.EmailField("e-mail du client", blank=True)
    customer_address = models.TextField("adresse du client", blank=True)
    customer_nif = models.CharField("NIF du client", max_length=20, blank=True)
    customer_nis = models.CharField("NIS du client", max_length=20, blank=True)
    customer_rc = models.CharField("RC du client", max_length=30, blank=True)
    customer_article = models.CharField("article d'imposition du client", max_length=30, blank=True)
    seller = models.JSONField("vendeur", default=dict)
    total_ht = models.DecimalField("total HT", **AMOUNT_DIGITS)
    tva_rate = models.DecimalField("taux de TVA (%)", max_digits=5, decimal_places=2)
    tva_amount = models.DecimalField("TVA", **AMOUNT_DIGITS)
    total_ttc = models.DecimalField("total TTC", **AMOUNT_DIGITS)

    class Meta:
        ordering = ["-month", "-sequence"]
        verbose_name = "facture"
        verbose_name_plural = "factures"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month"],
                condition=Q(kind="monthly"),
                name="one_invoice_per_month",
            ),
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_number_unique"),
            # Rounded because SQLite stores decimals as floats: 1566.66 + 297.67 ≠ 1864.33 there.
            models.CheckConstraint(
                condition=Q(total_ttc=Round(F("total_ht") + F("tva_amount"), 2)),
                name="invoice_ttc_sum",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OverageUnit(models.TextChoices):
    INPUT = "input", "1M tokens en entrée"
    OUTPUT = "output", "1M tokens en sortie"
    IMAGE = "image", "image"


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        FEE = "fee", "Abonnement"
        OVERAGE = "overage", "Dépassement"
        RECHARGE = "recharge", "Recharge de crédits"

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name="facture"
    )
    position = models.PositiveSmallIntegerField("position")
    kind = models.CharField("type", max_length=8, choices=Kind.choices)
    description = models.CharField("libellé", max_length=200)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, verbose_name="formule"
    )
    model = models.ForeignKey(
        AIModel, on_delete=models.PROTECT, null=True, blank=True, verbose_name="modèle"
    )
    days = models.PositiveSmallIntegerField("jours", null=True, blank=True)
    input_tokens = models.BigIntegerField("tokens input", null=True, blank=True)
    output_tokens = models.BigIntegerField("tokens output", null=True, blank=True)
    images = models.BigIntegerField("images", null=True, blank=True)
    # Overage lines (issue 15): the quantity beyond the credits at one unit price, so that
    # quantity × unit price = amount (billing/overage.py). Empty on lines issued before.
    unit = models.CharField(
        "unité", max_length=6, choices=OverageUnit.choices, blank=True, default=""
    )
    unit_price = models.DecimalField("prix unitaire HT", null=True, blank=True, **PRICE_DIGITS)
    billed_quantity = models.DecimalField(
        "quantité facturée", max_digits=24, decimal_places=3, null=True, blank=True
    )
    amount = models.DecimalField("montant HT", **AMOUNT_DIGITS)

    class Meta:
        ordering = ["invoice", "position"]
        verbose_name = "ligne de facture"
        verbose_name_plural = "lignes de facture"
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position")
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class CreditNoteSequence(models.Model):
    """Last credit note number given in a year (AV-YYYY-NNNNNN), locked while numbering."""

    year = models.PositiveSmallIntegerField("année", primary_key=True)
    last = models.PositiveIntegerField("dernier numéro", default=0)

    class Meta:
        verbose_name = "séquence des avoirs"
        verbose_name_plural = "séquences des avoirs"

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class CreditNote(models.Model):
    """A facture d'avoir: corrects an issued invoice, for all or some of its lines."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credit_notes", verbose_name="compte client"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="credit_notes", verbose_name="facture"
    )
    number = models.CharField("numéro", max_length=20, unique=True)
    year = models.PositiveSmallIntegerField("année")
    sequence = models.PositiveIntegerField("rang dans l'année")
    issued_at = models.DateTimeField("émis le")
    reason = models.TextField("motif")
    total_ht = models.DecimalField("total HT", **AMOUNT_DIGITS)
    tva_rate = models.DecimalField("taux de TVA (%)", max_digits=5, decimal_places=2)
    tva_amount = models.DecimalField("TVA", **AMOUNT_DIGITS)
    total_ttc = models.DecimalField("total TTC", **AMOUNT_DIGITS)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="émis par",
    )

    class Meta:
        ordering = ["-year", "-sequence"]
        verbose_name = "avoir"
        verbose_name_plural = "avoirs"
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="credit_note_number_unique"),
            models.CheckConstraint(
                condition=Q(total_ttc=Round(F("total_ht") + F("tva_amount"), 2))
                & Q(total_ht__gt=0),
                name="credit_note_ttc_sum",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.CASCADE, related_name="lines", verbose_name="avoir"
    )
    invoice_line = models.ForeignKey(
        InvoiceLine,
        on_delete=models.PROTECT,
        related_name="credit_lines",
        verbose_name="ligne de facture",
    )
    position = models.PositiveSmallIntegerField("position")
    description = models.CharField("libellé", max_length=200)
    amount = models.DecimalField("montant HT", **AMOUNT_DIGITS)

    class Meta:
        ordering = ["credit_note", "position"]
        verbose_name = "ligne d'avoir"
        verbose_name_plural = "lignes d'avoir"

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"
