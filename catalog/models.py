from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

PRICE_DIGITS = {"max_digits": 14, "decimal_places": 4}
ZERO = Decimal("0")
# API identifiers like "gpt-4.1" or "stable-diffusion-3.5": lower case, digits, dots and dashes.
model_slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$",
    "Minuscules, chiffres, points et tirets uniquement (ex. « gpt-4.1 »).",
)


class Plan(models.Model):
    """A monthly formula: a fee and the credits it includes."""

    name = models.CharField("nom", max_length=60)
    slug = models.SlugField("identifiant", unique=True)
    included_credits = models.DecimalField(
        "crédits mensuels inclus (DZD)",
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
    )
    monthly_fee = models.DecimalField(
        "prix mensuel HT (DZD)",
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
    )
    description = models.CharField("description rapide", max_length=200)
    order = models.PositiveSmallIntegerField("ordre", default=0)
    is_active = models.BooleanField("proposée", default=True)

    class Meta:
        ordering = ["order", "included_credits"]
        verbose_name = "formule"
        verbose_name_plural = "formules"
        constraints = [
            models.CheckConstraint(
                condition=Q(included_credits__gte=0) & Q(monthly_fee__gte=0),
                name="plan_amounts_not_negative",
            )
        ]

    def __str__(self) -> str:
        return self.name


class AIModel(models.Model):
    class Kind(models.TextChoices):
        # Shown on the public pages (issue 15): translated labels.
        TEXT = "text", gettext_lazy("Texte")
        IMAGE = "image", gettext_lazy("Image")

    slug = models.CharField(
        "identifiant API", max_length=60, unique=True, validators=[model_slug_validator]
    )
    name = models.CharField("nom affiché", max_length=80)
    kind = models.CharField("type", max_length=5, choices=Kind.choices)
    description = models.CharField("description", max_length=200, blank=True)
    order = models.PositiveSmallIntegerField("ordre", default=0)
    is_active = models.BooleanField("disponible", default=True)
    withdrawn_at = models.DateTimeField(
        "retiré le",
        null=True,
        blank=True,
        editable=False,
        help_text="Quand le modèle a été rendu indisponible : l'usage survenu après est refusé.",
    )

    class Meta:
        ordering = ["kind", "order", "slug"]
        verbose_name = "modèle IA"
        verbose_name_plural = "modèles IA"

    def __str__(self) -> str:
        return self.slug

    def save(self, *args, **kwargs):
        # The instant of the withdrawal is part of the flag: every way of unticking
        # « disponible » (admin form, shell) records it; making it available again clears it.
        if self.is_active:
            self.withdrawn_at = None
        elif self.withdrawn_at is None:
            self.withdrawn_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "is_active" in update_fields:
            kwargs["update_fields"] = {*update_fields, "withdrawn_at"}
        super().save(*args, **kwargs)

    @property
    def is_text(self) -> bool:
        return self.kind == self.Kind.TEXT


class ModelPrice(models.Model):
    """One row of a model's price history; it applies from `effective_at` until the next row."""

    model = models.ForeignKey(
        AIModel, on_delete=models.PROTECT, related_name="prices", verbose_name="modèle"
    )
    effective_at = models.DateTimeField("en vigueur à partir du")
    input_per_million = models.DecimalField(
        "prix input / 1M tokens (DZD)", null=True, blank=True, **PRICE_DIGITS
    )
    output_per_million = models.DecimalField(
        "prix output / 1M tokens (DZD)", null=True, blank=True, **PRICE_DIGITS
    )
    per_image = models.DecimalField("prix par image (DZD)", null=True, blank=True, **PRICE_DIGITS)
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    class Meta:
        ordering = ["model", "effective_at"]
        verbose_name = "prix"
        verbose_name_plural = "historique des prix"
        constraints = [
            models.UniqueConstraint(fields=["model", "effective_at"], name="price_unique_instant"),
            # Either a text price (input and output) or an image price, never a mix.
            models.CheckConstraint(
                condition=(
                    Q(
                        input_per_million__isnull=False,
                        output_per_million__isnull=False,
                        per_image__isnull=True,
                        input_per_million__gte=0,
                        output_per_million__gte=0,
                    )
                    | Q(
                        input_per_million__isnull=True,
                        output_per_million__isnull=True,
                        per_image__isnull=False,
                        per_image__gte=0,
                    )
                ),
                name="price_text_or_image",
            ),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.effective_at)
        return f"{self.model.slug} à partir du {local:%d/%m/%Y %H:%M}"


class FaqEntry(models.Model):
    question = models.CharField("question", max_length=200)
    answer = models.TextField("réponse")
    order = models.PositiveSmallIntegerField("ordre", default=0)
    is_published = models.BooleanField("publiée", default=True)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = "question de la FAQ"
        verbose_name_plural = "FAQ"

    def __str__(self) -> str:
        return self.question
