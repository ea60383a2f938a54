from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from accounts.models import Account
from catalog.models import Plan

from .money import AMOUNT_DIGITS, LEDGER_DIGITS, ZERO


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
        Account, on_delete=models.CASCADE, primary_key=True, related_name="subscription"
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, verbose_name="formule"
    )
    pay_as_you_go = models.BooleanField("pay as you go", default=False)
    pay_as_you_go_changed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField("client depuis")

    class Meta:
        verbose_name = "abonnement"
        verbose_name_plural = "abonnements"

    def __str__(self) -> str:
        return f"{self.account} — {self.plan or 'aucune formule'}"


class PayAsYouGoChange(models.Model):
    """History of the pay-as-you-go switch: an event is overage only if it was on then."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="payg_changes")
    enabled = models.BooleanField("activé")
    changed_at = models.DateTimeField("le")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
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

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="plan_changes")
    from_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    requested_at = models.DateTimeField("demandé le")
    effective_at = models.DateTimeField("effectif le")
    credits_added = models.DecimalField(default=ZERO, **AMOUNT_DIGITS)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
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


class BillingPeriod(models.Model):
    """One account's calendar month (Africa/Algiers): its credits and where every cost went.

    Invariants: consumed ≤ included; cost of the events = consumed + overage + written off.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Ouverte"
        CLOSED = "closed", "Clôturée"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="periods")
    month = models.DateField("mois")  # first day of the month
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, verbose_name="formule au 1er"
    )
    included_credits = models.DecimalField("crédits inclus", default=ZERO, **AMOUNT_DIGITS)
    consumed = models.DecimalField("crédits consommés", default=ZERO, **LEDGER_DIGITS)
    overage = models.DecimalField("dépassement", default=ZERO, **LEDGER_DIGITS)
    written_off = models.DecimalField("abandonné", default=ZERO, **LEDGER_DIGITS)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "-month"]
        verbose_name = "période de facturation"
        verbose_name_plural = "périodes de facturation"
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="one_period_per_month"),
            models.CheckConstraint(
                condition=Q(consumed__lte=F("included_credits"))
                & Q(consumed__gte=0)
                & Q(overage__gte=0)
                & Q(written_off__gte=0),
                name="period_credits_not_overspent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.month:%Y-%m}"

    @property
    def remaining(self) -> Decimal:
        return self.included_credits - self.consumed


class PeriodFee(models.Model):
    """A formula held during part of a period: one invoice fee line, prorated by days."""

    period = models.ForeignKey(BillingPeriod, on_delete=models.CASCADE, related_name="fees")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, verbose_name="formule")
    first_day = models.DateField("du")
    days = models.PositiveSmallIntegerField("jours")
    amount = models.DecimalField("montant HT", **AMOUNT_DIGITS)

    class Meta:
        ordering = ["period", "first_day"]
        verbose_name = "abonnement du mois"
        verbose_name_plural = "abonnements du mois"
        constraints = [
            models.UniqueConstraint(fields=["period", "first_day"], name="one_fee_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} ({self.days} j) : {self.amount} DZD"
