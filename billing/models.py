from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from accounts.models import Account, ApiKey
from catalog.models import AIModel, ModelPrice, Plan

from .money import AMOUNT_DIGITS, LEDGER_DIGITS, ZERO

DEFAULT_PAYMENT_TERMS = "Payable à réception de la facture, par virement bancaire."


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

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="usage_events", verbose_name="compte client"
    )
    period = models.ForeignKey(
        BillingPeriod, on_delete=models.PROTECT, related_name="events", verbose_name="période"
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
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.model_id} {self.idempotency_key}"


class CreditAlert(models.Model):
    """The 80 % / 100 % credit e-mails: the row makes each one go out once per period."""

    period = models.ForeignKey(
        BillingPeriod, on_delete=models.CASCADE, related_name="alerts", verbose_name="période"
    )
    threshold = models.PositiveSmallIntegerField("seuil (%)")
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)

    class Meta:
        verbose_name = "alerte de crédits"
        verbose_name_plural = "alertes de crédits"
        constraints = [
            models.UniqueConstraint(fields=["period", "threshold"], name="one_alert_per_threshold")
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.threshold} %"


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
    """An issued invoice; never changes after issue except its status (paid, void)."""

    class Status(models.TextChoices):
        ISSUED = "issued", "Émise"
        PAID = "paid", "Payée"
        VOID = "void", "Annulée"

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="invoices", verbose_name="compte client"
    )
    period = models.OneToOneField(
        BillingPeriod, on_delete=models.PROTECT, related_name="invoice", verbose_name="période"
    )
    month = models.DateField("mois facturé")
    number = models.CharField("numéro", max_length=20, unique=True)
    year = models.PositiveSmallIntegerField("année")
    sequence = models.PositiveIntegerField("rang dans l'année")
    status = models.CharField("statut", max_length=6, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField("émise le")
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
            models.UniqueConstraint(fields=["account", "month"], name="one_invoice_per_month"),
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
