from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from accounts.models import Account, ApiKey
from catalog.models import AIModel, Plan

from ..money import AMOUNT_DIGITS, LEDGER_DIGITS, ZERO


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
            # The bill reads the rollups, corrected by the few events partly in overage
            # (billing/overage.py, issue 15): this small index finds them.
            models.Index(
                fields=["period"],
                condition=Q(overage__gt=0)
                & (Q(credits__gt=0) | Q(prepaid__gt=0) | Q(written_off__gt=0)),
                name="usage_event_partly_overage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.model_id} {self.idempotency_key}"


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
