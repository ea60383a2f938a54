from django.conf import settings
from django.db import models

from accounts.models import Account

from .invoices import Invoice


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
