from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import Account
from catalog.models import Plan

from ..money import AMOUNT_DIGITS, ZERO

DEFAULT_PAYMENT_TERMS = (
    "Payable au plus tard à la date d'échéance indiquée, en ligne (CIB / Edahabia) ou par "
    "virement bancaire."
)


class BillingSettings(models.Model):
    """Singleton (pk=1) edited by staff: TVA, notice period and the company's legal details."""

    tva_rate = models.DecimalField(
        "taux de TVA (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("19.00"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
    )
    price_notice_days = models.PositiveSmallIntegerField(
        "préavis d'une hausse de prix (jours)", default=30
    )
    company_name = models.CharField("raison sociale", max_length=200, default="IAFactory SARL")
    company_address = models.TextField("adresse", default="Alger, Algérie")
    company_nif = models.CharField("NIF", max_length=20, blank=True)
    company_nis = models.CharField("NIS", max_length=20, blank=True)
    company_rc = models.CharField("RC", max_length=30, blank=True)
    company_article = models.CharField("article d'imposition", max_length=30, blank=True)
    company_bank = models.TextField("coordonnées bancaires (RIB)", blank=True)
    company_email = models.EmailField("e-mail de facturation", default="facturation@iafactory.dz")
    payment_terms = models.CharField(
        "conditions de paiement",
        max_length=300,
        default=DEFAULT_PAYMENT_TERMS,
    )
    # Issue 12: due dates, reminders, suspension and prepaid recharges.
    payment_term_days = models.PositiveSmallIntegerField("délai de paiement (jours)", default=15)
    suspension_days = models.PositiveSmallIntegerField(
        "suspension après l'échéance (jours)", default=30
    )
    recharge_amounts = models.CharField(
        "recharges proposées (DZD HT, séparées par des virgules)",
        max_length=200,
        default="5000,10000,25000,50000",
    )
    recharge_minimum = models.DecimalField(
        "recharge minimale (DZD HT)",
        default=Decimal("1000.00"),
        validators=[MinValueValidator(Decimal("100"))],
        **AMOUNT_DIGITS,
    )

    class Meta:
        verbose_name = "paramètres de facturation"
        verbose_name_plural = "paramètres de facturation"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="billing_settings_singleton")]

    def __str__(self) -> str:
        return "Paramètres de facturation"

    @classmethod
    def load(cls) -> "BillingSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class Subscription(models.Model):
    """An account's formula (or none) and pay-as-you-go switch, written only by services."""

    account = models.OneToOneField(
        Account,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="subscription",
        verbose_name="compte client",
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, verbose_name="formule"
    )
    pay_as_you_go = models.BooleanField("pay as you go", default=False)
    pay_as_you_go_changed_at = models.DateTimeField(
        "pay as you go modifié le", null=True, blank=True
    )
    started_at = models.DateTimeField("client depuis")
    # The monthly ceiling of overage, DZD HT; null: no ceiling (an explicit choice).
    payg_cap = models.DecimalField(
        "plafond mensuel de dépassement (DZD HT)",
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        **AMOUNT_DIGITS,
    )

    class Meta:
        verbose_name = "abonnement"
        verbose_name_plural = "abonnements"

    def __str__(self) -> str:
        return f"{self.account} — {self.plan or 'aucune formule'}"


class PayAsYouGoChange(models.Model):
    """History of the pay-as-you-go switch and its ceiling: an event is overage only if it was
    on then, and only up to the ceiling in force then (each row is the state after the change)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="payg_changes", verbose_name="compte client"
    )
    enabled = models.BooleanField("activé")
    cap = models.DecimalField("plafond (DZD HT)", null=True, blank=True, **AMOUNT_DIGITS)
    changed_at = models.DateTimeField("le")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name="modifié par",
    )

    class Meta:
        ordering = ["account", "changed_at", "pk"]
        verbose_name = "changement pay as you go"
        verbose_name_plural = "changements pay as you go"
        indexes = [models.Index(fields=["account", "changed_at"])]

    def __str__(self) -> str:
        state = "activé" if self.enabled else "désactivé"
        return f"{self.account} : pay as you go {state} le {self.changed_at:%Y-%m-%d %H:%M}"


class PlanChange(models.Model):
    """A formula change: upgrades apply at once, downgrades wait for the 1st of next month."""

    class Kind(models.TextChoices):
        START = "start", "Première formule"
        UPGRADE = "upgrade", "Montée en gamme"
        DOWNGRADE = "downgrade", "Descente en gamme"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Programmé"
        APPLIED = "applied", "Appliqué"
        CANCELLED = "cancelled", "Annulé"

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="plan_changes", verbose_name="compte client"
    )
    from_plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="ancienne formule",
    )
    to_plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="nouvelle formule",
    )
    kind = models.CharField("type", max_length=10, choices=Kind.choices)
    status = models.CharField("statut", max_length=10, choices=Status.choices)
    requested_at = models.DateTimeField("demandé le")
    effective_at = models.DateTimeField("effectif le")
    credits_added = models.DecimalField("crédits ajoutés", default=ZERO, **AMOUNT_DIGITS)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name="demandé par",
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = "changement de formule"
        verbose_name_plural = "changements de formule"
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="scheduled"),
                name="one_scheduled_plan_change",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} : {self.from_plan or 'aucune'} → {self.to_plan or 'aucune'}"
