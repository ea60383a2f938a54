from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from accounts.models import Account, ApiKey
from catalog.models import AIModel, ModelPrice, Plan

from .money import AMOUNT_DIGITS, LEDGER_DIGITS, ZERO

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


class BillingPeriod(models.Model):
    """One account's calendar month (Africa/Algiers): its credits and where every cost went.

    Invariants: consumed ≤ included; cost of the events = consumed + prepaid used + overage
    + written off; overage ≤ the ceiling in force at each event.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Ouverte"
        CLOSED = "closed", "Clôturée"

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="periods", verbose_name="compte client"
    )
    month = models.DateField("mois")  # first day of the month
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, verbose_name="formule au 1er"
    )
    included_credits = models.DecimalField("crédits inclus", default=ZERO, **AMOUNT_DIGITS)
    consumed = models.DecimalField("crédits consommés", default=ZERO, **LEDGER_DIGITS)
    prepaid_used = models.DecimalField(
        "payé par le solde prépayé", default=ZERO, db_default=ZERO, **LEDGER_DIGITS
    )
    overage = models.DecimalField("dépassement", default=ZERO, **LEDGER_DIGITS)
    written_off = models.DecimalField("abandonné", default=ZERO, **LEDGER_DIGITS)
    status = models.CharField("statut", max_length=6, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    closed_at = models.DateTimeField("clôturée le", null=True, blank=True)

    class Meta:
        ordering = ["account", "-month"]
        verbose_name = "période de facturation"
        verbose_name_plural = "périodes de facturation"
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="one_period_per_month"),
            models.CheckConstraint(
                condition=Q(consumed__lte=F("included_credits"))
                & Q(consumed__gte=0)
                & Q(prepaid_used__gte=0)
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

    period = models.ForeignKey(
        BillingPeriod, on_delete=models.CASCADE, related_name="fees", verbose_name="période"
    )
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


PRICE_DIGITS = {"max_digits": 14, "decimal_places": 4}


class UsageEvent(models.Model):
    """One call reported by the gateway, charged once, at the price in effect at `occurred_at`.

    It keeps the prices applied and where its exact cost went, forever:
    cost = credits + prepaid + overage + written_off.
    """

    # No single-column index on account or period: the composite indexes below (and the
    # idempotency constraint) start with them and serve the same lookups; each index costs
    # every insert and some 20 bytes per event.
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="usage_events",
        verbose_name="compte client",
        db_index=False,
    )
    period = models.ForeignKey(
        BillingPeriod,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name="période",
        db_index=False,
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="usage_events", verbose_name="clé API"
    )
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, verbose_name="modèle")
    idempotency_key = models.CharField("clé d'idempotence", max_length=200)
    fingerprint = models.CharField(
        "empreinte", max_length=64, help_text="SHA-256 du contenu de l'événement"
    )
    input_tokens = models.BigIntegerField("tokens input", default=0)
    output_tokens = models.BigIntegerField("tokens output", default=0)
    images = models.IntegerField("images", default=0)
    occurred_at = models.DateTimeField("survenu le")
    received_at = models.DateTimeField("reçu le")
    input_price = models.DecimalField(
        "prix input / 1M tokens", null=True, blank=True, **PRICE_DIGITS
    )
    output_price = models.DecimalField(
        "prix output / 1M tokens", null=True, blank=True, **PRICE_DIGITS
    )
    image_price = models.DecimalField("prix par image", null=True, blank=True, **PRICE_DIGITS)
    cost = models.DecimalField("coût", **LEDGER_DIGITS)
    credits = models.DecimalField("sur les crédits", **LEDGER_DIGITS)
    prepaid = models.DecimalField(
        "sur le solde prépayé", default=ZERO, db_default=ZERO, **LEDGER_DIGITS
    )
    overage = models.DecimalField("dépassement", **LEDGER_DIGITS)
    written_off = models.DecimalField("abandonné", **LEDGER_DIGITS)
    pay_as_you_go = models.BooleanField("pay as you go à ce moment")

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = "événement d'usage"
        verbose_name_plural = "événements d'usage"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"], name="usage_idempotency_per_account"
            ),
            # Rounded to the ledger's 10 places because SQLite adds decimals as floats;
            # on PostgreSQL the columns have that scale, so it is still exact equality.
            models.CheckConstraint(
                condition=Q(
                    cost=Round(F("credits") + F("prepaid") + F("overage") + F("written_off"), 10)
                )
                & Q(credits__gte=0)
                & Q(prepaid__gte=0)
                & Q(overage__gte=0)
                & Q(written_off__gte=0)
                & Q(input_tokens__gte=0)
                & Q(output_tokens__gte=0)
                & Q(images__gte=0),
                name="usage_cost_fully_allocated",
            ),
        ]
        indexes = [
            models.Index(fields=["period", "model"]),
            models.Index(fields=["account", "occurred_at"]),
            # The admin's list of every account's events reads a month's range (h10).
            models.Index(fields=["occurred_at"], name="usage_event_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.model_id} {self.idempotency_key}"


def default_thresholds() -> list[int]:
    """The alerts every account has until it changes them: 80 % and 100 % of each reference."""
    return [80, 100]


class AlertSettings(models.Model):
    """The spending alerts an account asked for, in % of each reference; no row: the defaults."""

    account = models.OneToOneField(
        Account,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="alert_settings",
        verbose_name="compte client",
    )
    # Lists of whole percentages (1 to 100), ascending; empty: no alert of that kind.
    credits = models.JSONField("seuils des crédits inclus (%)", default=default_thresholds)
    payg_cap = models.JSONField(
        "seuils du plafond de pay as you go (%)", default=default_thresholds
    )
    key_budget = models.JSONField("seuils du budget de chaque clé (%)", default=default_thresholds)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "réglage des alertes"
        verbose_name_plural = "réglages des alertes"

    def __str__(self) -> str:
        return f"Alertes de {self.account}"


class CreditAlert(models.Model):
    """A spending alert claimed for a period: the row makes each (kind, key, threshold) go out
    once per period. It keeps the amounts seen when it was claimed, which the e-mail states."""

    class Kind(models.TextChoices):
        CREDITS = "credits", "Crédits inclus"
        PAYG_CAP = "payg_cap", "Plafond de pay as you go"
        KEY_BUDGET = "key_budget", "Budget d'une clé"

    period = models.ForeignKey(
        BillingPeriod, on_delete=models.CASCADE, related_name="alerts", verbose_name="période"
    )
    kind = models.CharField(
        "type", max_length=10, choices=Kind.choices, default=Kind.CREDITS, db_default="credits"
    )
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name="clé API",
    )
    threshold = models.PositiveSmallIntegerField("seuil (%)")
    reference = models.DecimalField(
        "montant de référence", null=True, blank=True, **LEDGER_DIGITS
    )  # the credits, ceiling or budget when claimed
    used = models.DecimalField("utilisé", null=True, blank=True, **LEDGER_DIGITS)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)

    class Meta:
        verbose_name = "alerte de dépense"
        verbose_name_plural = "alertes de dépense"
        constraints = [
            models.UniqueConstraint(
                fields=["period", "kind", "threshold"],
                condition=Q(api_key__isnull=True),
                name="one_alert_per_threshold",
            ),
            models.UniqueConstraint(
                fields=["period", "api_key", "threshold"],
                condition=Q(api_key__isnull=False),
                name="one_key_alert_per_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.get_kind_display()} {self.threshold} %"

    @property
    def remaining(self) -> Decimal:
        if self.reference is None or self.used is None:
            return ZERO
        return max(self.reference - self.used, ZERO)


class PriceIncreaseNotice(models.Model):
    """A customer told of an announced price increase: the row makes it one e-mail per
    announced price row, and shows the espace client's banner until the price takes effect."""

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="price_notices",
        verbose_name="compte client",
    )
    price = models.ForeignKey(
        ModelPrice, on_delete=models.CASCADE, related_name="notices", verbose_name="prix annoncé"
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    sent_at = models.DateTimeField("e-mail envoyé le", null=True, blank=True)

    class Meta:
        verbose_name = "avis de hausse de prix"
        verbose_name_plural = "avis de hausse de prix"
        constraints = [
            models.UniqueConstraint(fields=["account", "price"], name="one_notice_per_price")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.price_id}"


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


class CloseFailure(models.Model):
    """An account the monthly close could not close, listed for staff until a later run does."""

    account = models.ForeignKey(
        Account, verbose_name="compte", on_delete=models.CASCADE, related_name="close_failures"
    )
    month = models.DateField("mois")  # first day of the month
    error = models.TextField("erreur")
    attempts = models.PositiveIntegerField("tentatives", default=1)
    first_failed_at = models.DateTimeField("premier échec le")
    last_failed_at = models.DateTimeField("dernier échec le")
    resolved_at = models.DateTimeField("résolue le", null=True, blank=True)

    class Meta:
        ordering = ["-month", "account"]
        verbose_name = "clôture en échec"
        verbose_name_plural = "clôtures en échec"
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="one_close_failure_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.month:%Y-%m}"


class KeySpend(models.Model):
    """What one API key's events charged in one month (credits, prepaid and overage, not what
    was written off): the row locked to hold the key's monthly budget under concurrency."""

    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="spends", verbose_name="clé API"
    )
    month = models.DateField("mois")  # first day of the month
    charged = models.DecimalField("facturé", default=ZERO, **LEDGER_DIGITS)

    class Meta:
        ordering = ["api_key", "-month"]
        verbose_name = "dépense d'une clé"
        verbose_name_plural = "dépenses des clés"
        constraints = [
            models.UniqueConstraint(fields=["api_key", "month"], name="one_key_spend_per_month"),
            models.CheckConstraint(condition=Q(charged__gte=0), name="key_spend_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.api_key} {self.month:%Y-%m} : {self.charged}"


class PrepaidBalance(models.Model):
    """An account's prepaid credits (bought recharges), never expiring, never negative.

    Credited by paid recharges, debited by usage after the month's included credits.
    """

    account = models.OneToOneField(
        Account,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="prepaid",
        verbose_name="compte client",
    )
    balance = models.DecimalField("solde (DZD HT)", default=ZERO, **LEDGER_DIGITS)
    updated_at = models.DateTimeField("mis à jour le", auto_now=True)

    class Meta:
        verbose_name = "solde prépayé"
        verbose_name_plural = "soldes prépayés"
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="prepaid_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account} : {self.balance} DZD"


class UsageDaily(models.Model):
    """Daily rollup of usage per account, Algiers day, model and key, maintained by the
    ledger in the transaction that inserts the events: what every usage read and the close
    aggregate, so that they never depend on how many events exist (issue 13)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="usage_days", verbose_name="compte client"
    )
    day = models.DateField("jour")  # Africa/Algiers
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, verbose_name="modèle")
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="usage_days", verbose_name="clé API"
    )
    events = models.PositiveIntegerField("appels", default=0)
    input_tokens = models.BigIntegerField("tokens input", default=0)
    output_tokens = models.BigIntegerField("tokens output", default=0)
    images = models.BigIntegerField("images", default=0)
    cost = models.DecimalField("coût", default=ZERO, **LEDGER_DIGITS)
    credits = models.DecimalField("sur les crédits", default=ZERO, **LEDGER_DIGITS)
    prepaid = models.DecimalField("sur le solde prépayé", default=ZERO, **LEDGER_DIGITS)
    overage = models.DecimalField("dépassement", default=ZERO, **LEDGER_DIGITS)
    written_off = models.DecimalField("abandonné", default=ZERO, **LEDGER_DIGITS)
    # The counts of the events with some overage: what the close's overage lines print.
    overage_input_tokens = models.BigIntegerField("tokens input en dépassement", default=0)
    overage_output_tokens = models.BigIntegerField("tokens output en dépassement", default=0)
    overage_images = models.BigIntegerField("images en dépassement", default=0)

    class Meta:
        ordering = ["account", "-day"]
        verbose_name = "usage du jour"
        verbose_name_plural = "usage par jour"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "model", "api_key"], name="one_rollup_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.day} {self.model_id}"


# --- Money in (issue 12): payments, transfer proofs, Chargily checkouts, recharges, credit notes


class Recharge(models.Model):
    """A prepaid recharge bought by the customer: invoiced and credited once it is paid."""

    class Status(models.TextChoices):
        PENDING = "pending", "En attente de paiement"
        PAID = "paid", "Payée"

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
        PENDING = "pending", "À vérifier"
        APPROVED = "approved", "Acceptée"
        REJECTED = "rejected", "Refusée"

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
        CHARGILY = "chargily", "En ligne (CIB / Edahabia)"
        TRANSFER = "transfer", "Virement bancaire"
        MANUAL = "manual", "Enregistré par l'équipe"

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


class AccountStanding(models.Model):
    """Suspension for unpaid invoices and its staff exemption (one row per account, on need)."""

    account = models.OneToOneField(
        Account,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="standing",
        verbose_name="compte client",
    )
    suspended_at = models.DateTimeField("suspendu le", null=True, blank=True)
    suspended_for = models.ForeignKey(
        Invoice,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="facture impayée",
    )
    exempt = models.BooleanField("exempté de suspension", default=False)
    exempt_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="exempté par",
    )

    class Meta:
        verbose_name = "situation de paiement"
        verbose_name_plural = "situations de paiement"

    def __str__(self) -> str:
        return f"{self.account} : {'suspendu' if self.suspended_at else 'actif'}"


class InvoiceReminder(models.Model):
    """Each reminder goes out once per invoice: due date, +7 days, suspension notice."""

    class Kind(models.TextChoices):
        DUE = "due", "Échéance"
        LATE = "late", "Relance (+7 jours)"
        SUSPENDED = "suspended", "Suspension"

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="reminders", verbose_name="facture"
    )
    kind = models.CharField("type", max_length=10, choices=Kind.choices)
    sent_at = models.DateTimeField("envoyée le", auto_now_add=True)

    class Meta:
        verbose_name = "relance"
        verbose_name_plural = "relances"
        constraints = [
            models.UniqueConstraint(fields=["invoice", "kind"], name="one_reminder_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.invoice} {self.kind}"
