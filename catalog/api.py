"""Public catalog API (no authentication): models with prices, formulas, cost estimate.

JSON; every amount is an exact decimal as a string, without trailing zeros or exponent
("1000", "0.125", "312.1234"), in DZD (HT).
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import AIModel, Plan
from .pricing import MAX_IMAGES, MAX_TOKENS, Price, PriceBook, PricingError, estimate_cost

CURRENCY = "DZD"
TAGS = ["Catalogue"]
COUNT_FIELDS = {"input_tokens": MAX_TOKENS, "output_tokens": MAX_TOKENS, "images": MAX_IMAGES}
# What a model slug may look like; anything else (NUL bytes, kilobytes…) never reaches the DB.
MODEL_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}")
# Integers far beyond any limit: Python itself refuses int() past 4 300 digits.
HUGE_INTEGER = re.compile(r"([+-]?)0*\d{19,}")


def decimal_string(value: Decimal) -> str:
    return format(value.normalize(), "f")


class PlainDecimalField(serializers.DecimalField):
    """An exact decimal as a string: every significant digit, none more, never an exponent."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, **kwargs)

    def to_representation(self, value: Decimal) -> str:
        return decimal_string(value)


def _price_fields() -> dict[str, serializers.Field]:
    return {
        "effective_at": serializers.DateTimeField(help_text="Entrée en vigueur (ISO 8601)."),
        "input_per_million": PlainDecimalField(
            allow_null=True, help_text="DZD HT par million de tokens d'entrée (texte, sinon null)."
        ),
        "output_per_million": PlainDecimalField(
            allow_null=True, help_text="DZD HT par million de tokens de sortie (texte, sinon null)."
        ),
        "per_image": PlainDecimalField(
            allow_null=True, help_text="DZD HT par image générée (image, sinon null)."
        ),
    }


class CatalogPriceSerializer(serializers.Serializer):
    def get_fields(self):
        return _price_fields()


class CatalogModelSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "slug": serializers.CharField(help_text="Identifiant à passer dans « model »."),
            "name": serializers.CharField(),
            "kind": serializers.ChoiceField(choices=AIModel.Kind.choices),
            "description": serializers.CharField(),
            "currency": serializers.CharField(help_text="Toujours « DZD »."),
            **_price_fields(),
            "upcoming": CatalogPriceSerializer(
                many=True, help_text="Changements de prix annoncés, du plus proche au plus tard."
            ),
        }


class CatalogPlanSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    included_credits = PlainDecimalField(help_text="Crédits inclus chaque mois, DZD HT.")
    monthly_fee = PlainDecimalField(help_text="Prix mensuel, DZD HT.")
    currency = serializers.CharField(help_text="Toujours « DZD ».")


class CostEstimateSerializer(serializers.Serializer):
    model = serializers.CharField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    images = serializers.IntegerField()
    cost = PlainDecimalField(help_text="Coût exact HT, non arrondi (l'arrondi se fait en facture).")
    currency = serializers.CharField()
    prices = CatalogPriceSerializer(help_text="Le prix appliqué, en vigueur à « at ».")
    at = serializers.DateTimeField(help_text="Instant auquel le prix a été pris.")


class CatalogErrorSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages par paramètre fautif.",
    )


def _price(price: Price) -> dict:
    return {
        "effective_at": price.effective_at,
        "input_per_million": price.input_per_million,
        "output_per_million": price.output_per_million,
        "per_image": price.per_image,
    }


class ModelListView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="catalog_models_list",
        summary="Modèles et prix",
        description=(
            "Les modèles disponibles avec leur prix en vigueur (et la date depuis laquelle il "
            "s'applique) et les changements de prix déjà annoncés."
        ),
        tags=TAGS,
        responses=CatalogModelSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        models = list(AIModel.objects.filter(is_active=True).order_by("-kind", "order", "slug"))
        book = PriceBook.for_models(model.pk for model in models)
        rows = []
        for model in models:
            current = book.price_at(model.pk, now)
            if current is None:  # announced but not priced yet: not usable, not listed
                continue
            rows.append(
                {
                    "slug": model.slug,
                    "name": model.name,
                    "kind": model.kind,
                    "description": model.description,
                    "currency": CURRENCY,
                    **_price(current),
                    "upcoming": [_price(price) for price in book.upcoming(model.pk, now)],
                }
            )
        return Response(CatalogModelSerializer(rows, many=True).data)


class PlanListView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="catalog_plans_list",
        summary="Formules",
        description="Les formules proposées : crédits mensuels inclus et prix mensuel HT.",
        tags=TAGS,
        responses=CatalogPlanSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        plans = [
            {
                "slug": plan.slug,
                "name": plan.name,
                "description": plan.description,
                "included_credits": plan.included_credits,
                "monthly_fee": plan.monthly_fee,
                "currency": CURRENCY,
            }
            for plan in Plan.objects.filter(is_active=True)
        ]
        return Response(CatalogPlanSerializer(plans, many=True).data)


def _count_param(request: Request, field: str) -> str | None:
    value = request.query_params.get(field)
    if value is None:
        return None
    huge = HUGE_INTEGER.fullmatch(value.strip())
    if huge:
        if huge.group(1) == "-":
            raise PricingError.about_field(field, _("%(subject)s ne peut pas être négatif."))
        limit = COUNT_FIELDS[field]
        raise PricingError.about_field(
            field, _("%(subject)s dépasse le maximum autorisé (%(limit)s)."), limit=limit
        )
    return value


def _estimate(request: Request, at):
    slug = request.query_params.get("model", "")
    if slug and not MODEL_SLUG.fullmatch(slug):
        raise PricingError("model", _("Modèle inconnu : « %(model)s ».") % {"model": slug[:60]})
    counts = {field: _count_param(request, field) for field in COUNT_FIELDS}
    estimate = estimate_cost(model_slug=slug, at=at, **counts)
    if not (estimate.input_tokens or estimate.output_tokens or estimate.images):
        if estimate.model.is_text:
            raise PricingError(
                "input_tokens",
                _("Indiquez au moins une quantité : « input_tokens » et/ou « output_tokens »."),
            )
        raise PricingError("images", _("Indiquez au moins une image (« images »)."))
    return estimate


class EstimateView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="catalog_estimate",
        summary="Estimer le coût d'un appel",
        description=(
            "Coût exact, au prix en vigueur maintenant, de tokens (modèle texte : "
            "« input_tokens » et/ou « output_tokens ») ou d'images (modèle image : « images »). "
            "Au moins une quantité non nulle est demandée. Une erreur renvoie 400 avec un "
            "message par paramètre fautif."
        ),
        tags=TAGS,
        parameters=[
            OpenApiParameter(
                "model",
                OpenApiTypes.STR,
                required=True,
                description="Identifiant du modèle, par exemple gpt-4.1.",
            ),
            OpenApiParameter(
                "input_tokens",
                OpenApiTypes.INT,
                description=f"Tokens d'entrée (modèle texte), entier de 0 à {MAX_TOKENS}.",
            ),
            OpenApiParameter(
                "output_tokens",
                OpenApiTypes.INT,
                description=f"Tokens de sortie (modèle texte), entier de 0 à {MAX_TOKENS}.",
            ),
            OpenApiParameter(
                "images",
                OpenApiTypes.INT,
                description=f"Images générées (modèle image), entier de 0 à {MAX_IMAGES}.",
            ),
        ],
        responses={
            200: CostEstimateSerializer,
            400: OpenApiResponse(
                CatalogErrorSerializer, description="Paramètre manquant ou invalide."
            ),
        },
        examples=[
            OpenApiExample(
                "gpt-4.1, 500 + 1 500 tokens",
                response_only=True,
                status_codes=["200"],
                value={
                    "model": "gpt-4.1",
                    "input_tokens": 500,
                    "output_tokens": 1500,
                    "images": 0,
                    "cost": "1.625",
                    "currency": "DZD",
                    "prices": {
                        "effective_at": "2026-01-01T00:00:00+01:00",
                        "input_per_million": "250",
                        "output_per_million": "1000",
                        "per_image": None,
                    },
                    "at": "2026-11-16T10:00:00+01:00",
                },
            ),
            OpenApiExample(
                "Modèle inconnu",
                response_only=True,
                status_codes=["400"],
                value={"errors": {"model": ["Modèle inconnu : « gpt-9 »."]}},
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        at = timezone.now()
        try:
            estimate = _estimate(request, at)
        except PricingError as error:
            return Response({"errors": {error.field: [error.message]}}, status=400)
        data = {
            "model": estimate.model.slug,
            "input_tokens": estimate.input_tokens,
            "output_tokens": estimate.output_tokens,
            "images": estimate.images,
            "cost": estimate.cost,
            "currency": CURRENCY,
            "prices": _price(estimate.price),
            "at": at,
        }
        return Response(CostEstimateSerializer(data).data)
