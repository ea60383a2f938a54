from decimal import Decimal

from django.db import models
from django.db.models import Q

from accounts.models import Account, ApiKey
from catalog.models import ModelPrice

from ..money import LEDGER_DIGITS, ZERO
from .usage import BillingPeriod


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
