"""JSON API of metering: the gateway's authorize and usage calls, the customer's own account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import (
    CustomerKeyAuthentication,
    GatewayTokenAuthentication,
    IsCustomer,
    IsGateway,
)
from catalog.models import AIModel

from .metering import (
    MAX_BATCH,
    BatchTooLarge,
    account_state,
    api_key_storable,
    usage_authorize,
    usage_record_batch,
)
from .money import CENT
from .periods import Month, local_date
from .selectors import usage_events, usage_per_day_and_model

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_USAGE_DAYS = 366


def amount(value: Decimal | None) -> str | None:
    """An exact amount as a string, with at least two decimals: "1000.00", "1.625"."""
    if value is None:
        return None
    value = value.normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(CENT)
    return f"{value:f}"


def _detail(message: str, code: int) -> Response:
    return Response({"detail": message}, status=code)


def _json_body(request) -> object:
    try:
        return request.data
    except ParseError:
        raise ParseError("Corps de requête invalide : JSON attendu.") from None
    except RecursionError:
        # The JSON decoder gives up on nesting about a thousand levels deep.
        raise ParseError("Corps de requête invalide : JSON trop imbriqué.") from None


# --- documentation-only serializers ----------------------------------------------------------

Amount = serializers.CharField
_detail_schema = inline_serializer("Erreur", {"detail": serializers.CharField()})


class AuthorizeRequest(serializers.Serializer):
    api_key = serializers.CharField(help_text="La clé API du client, « iaf_… ».")


class AuthorizeResponse(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=[
            "unknown_key",
            "revoked_key",
            "inactive_account",
            "no_credits",
            "no_formula",
            "unpaid_invoice",
        ],
        allow_null=True,
        help_text="Null quand l'appel est autorisé.",
    )
    message = serializers.CharField(help_text="La raison en français.")
    remaining_credits = Amount(allow_null=True, help_text="DZD ; null pour une clé inconnue.")
    pay_as_you_go = serializers.BooleanField(allow_null=True)


class UsageEventIn(serializers.Serializer):
    idempotency_key = serializers.CharField(
        max_length=200, help_text="Unique par compte : un renvoi est reconnu comme doublon."
    )
    api_key = serializers.CharField(
        help_text="La clé API du client par laquelle l'appel a eu lieu."
    )
    model = serializers.CharField(help_text="Identifiant API du modèle, ex. « gpt-4.1 ».")
    input_tokens = serializers.IntegerField(min_value=0, required=False)
    output_tokens = serializers.IntegerField(min_value=0, required=False)
    images = serializers.IntegerField(min_value=0, required=False)
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601 avec fuseau ; par défaut l'heure de réception. "
        "Au plus 5 minutes dans le futur ; jamais dans un mois clôturé.",
    )


class UsageBatchIn(serializers.Serializer):
    events = UsageEventIn(many=True, help_text=f"Au plus {MAX_BATCH} événements.")


class UsageResultOut(serializers.Serializer):
    idempotency_key = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    cost = Amount(required=False, help_text="Coût exact en DZD (acceptés et doublons).")
    error = serializers.CharField(required=False, help_text="Pourquoi l'événement est rejeté.")


class UsageBatchOut(serializers.Serializer):
    results = UsageResultOut(many=True, help_text="Dans l'ordre de la requête.")
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()


class CreditsOut(serializers.Serializer):
    included = Amount()
    consumed = Amount()
    remaining = Amount()


class ScheduledPlanOut(serializers.Serializer):
    plan = serializers.CharField(allow_null=True, help_text="Null : aucune formule.")
    effective_at = serializers.DateTimeField()


class AccountOut(serializers.Serializer):
    plan = serializers.CharField(allow_null=True, help_text="starter, standard, expert ou null.")
    pay_as_you_go = serializers.BooleanField()
    period = serializers.CharField(help_text="Mois en cours, AAAA-MM (Africa/Algiers).")
    credits = CreditsOut()
    overage = Amount(help_text="Dépassement du mois, facturé en fin de mois (DZD, exact).")
    written_off = Amount(help_text="Part abandonnée, jamais facturée (DZD, exact).")
    scheduled_plan = ScheduledPlanOut(allow_null=True, help_text="Changement programmé.")


class UsageRowOut(serializers.Serializer):
    date = serializers.DateField()
    model = serializers.CharField()
    calls = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    images = serializers.IntegerField()
    cost = Amount()
    credits = Amount()
    overage = Amount()
    written_off = Amount()


UsageOut = inline_serializer(
    "Consommation",
    {
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "results": UsageRowOut(many=True),
    },
)


# --- gateway ---------------------------------------------------------------------------------


class GatewayView(APIView):
    authentication_classes = [GatewayTokenAuthentication]
    permission_classes = [IsGateway]


class GatewayAuthorizeView(GatewayView):
    @extend_schema(
        tags=["passerelle"],
        operation_id="gateway_authorize",
        summary="Une clé client peut-elle dépenser ?",
        description="Oui quand la clé est active et que le compte a des crédits restants "
        "ou le pay as you go activé.",
        request=AuthorizeRequest,
        responses={
            200: AuthorizeResponse,
            400: _detail_schema,
            401: OpenApiResponse(_detail_schema, description="Jeton de passerelle absent ou faux."),
        },
    )
    def post(self, request):
        body = _json_body(request)
        raw_key = body.get("api_key") if isinstance(body, dict) else None
        if not isinstance(raw_key, str) or not raw_key:
            return _detail("« api_key » est obligatoire.", status.HTTP_400_BAD_REQUEST)
        if not api_key_storable(raw_key):
            return _detail(
                "« api_key » invalide : caractère interdit ou trop long.",
                status.HTTP_400_BAD_REQUEST,
            )
        answer = usage_authorize(raw_key=raw_key)
        return Response(
            {
                "allowed": answer.allowed,
                "reason": answer.reason,
                "message": answer.message,
                "remaining_credits": amount(answer.remaining_credits),
                "pay_as_you_go": answer.pay_as_you_go,
            }
        )


class GatewayUsageView(GatewayView):
    @extend_schema(
        tags=["passerelle"],
        operation_id="gateway_usage",
        summary="Déclarer l'usage (lot d'au plus 1 000 événements)",
        description="Chaque événement est accepté, reconnu comme doublon (même clé "
        "d'idempotence, même contenu : le premier résultat, rien de plus n'est facturé) ou "
        "rejeté avec un message ; les autres événements du lot sont traités quand même.",
        request=UsageBatchIn,
        responses={
            200: UsageBatchOut,
            400: OpenApiResponse(_detail_schema, description="Corps mal formé."),
            401: OpenApiResponse(_detail_schema, description="Jeton de passerelle absent ou faux."),
            413: OpenApiResponse(_detail_schema, description="Plus de 1 000 événements."),
        },
        examples=[
            OpenApiExample(
                "Un appel texte",
                request_only=True,
                value={
                    "events": [
                        {
                            "idempotency_key": "req-123",
                            "api_key": "iaf_…",
                            "model": "gpt-4.1",
                            "input_tokens": 500,
                            "output_tokens": 1500,
                            "occurred_at": "2026-11-10T12:00:00+01:00",
                        }
                    ]
                },
            )
        ],
    )
    def post(self, request):
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            return _detail(
                "Corps de requête trop volumineux.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        body = _json_body(request)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return _detail(
                'Corps attendu : {"events": [ … ]} (une liste d\'événements).',
                status.HTTP_400_BAD_REQUEST,
            )
        try:
            batch = usage_record_batch(events=events)
        except BatchTooLarge:
            return _detail(
                f"Au plus {MAX_BATCH} événements par requête ({len(events)} reçus).",
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        results = []
        for result in batch.results:
            row = {"idempotency_key": result.idempotency_key, "status": result.status}
            if result.error is None:
                row["cost"] = amount(result.cost)
            else:
                row["error"] = result.error
            results.append(row)
        return Response(
            {
                "results": results,
                "accepted": batch.accepted,
                "duplicates": batch.duplicates,
                "rejected": batch.rejected,
            }
        )


# --- the customer's own account -------------------------------------------------------------


class CustomerView(APIView):
    authentication_classes = [CustomerKeyAuthentication]
    permission_classes = [IsCustomer]


class AccountView(CustomerView):
    @extend_schema(
        tags=["compte"],
        operation_id="account",
        summary="Formule, crédits et dépassement du mois en cours",
        description="Montants en DZD, en chaînes, exacts (au moins deux décimales).",
        responses={200: AccountOut, 401: _detail_schema},
    )
    def get(self, request):
        state = account_state(account=request.auth.account)
        period = state.period
        scheduled = None
        if state.scheduled is not None:
            scheduled = {
                "plan": state.scheduled.to_plan.slug if state.scheduled.to_plan else None,
                "effective_at": timezone.localtime(state.scheduled.effective_at).isoformat(),
            }
        return Response(
            {
                "plan": state.plan,
                "pay_as_you_go": state.pay_as_you_go,
                "period": str(state.month),
                "credits": {
                    "included": amount(period.included_credits),
                    "consumed": amount(period.consumed),
                    "remaining": amount(period.remaining),
                },
                "overage": amount(period.overage),
                "written_off": amount(period.written_off),
                "scheduled_plan": scheduled,
            }
        )


def _date_param(request, name: str, default: date) -> date:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _BadFilter(f"« {name} » doit être une date AAAA-MM-JJ.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _BadFilter(f"« {name} » doit être entre {FIRST_DAY} et {LAST_DAY}.")
    return day


# Billing has no data before 2000; far-future dates would overflow date arithmetic.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


class _BadFilter(Exception):
    pass


class UsageView(CustomerView):
    @extend_schema(
        tags=["compte"],
        operation_id="usage",
        summary="Consommation du compte, par jour et par modèle",
        description="Jours en heure d'Alger. Par défaut, le mois en cours.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="Premier jour inclus."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Dernier jour inclus."),
            OpenApiParameter("model", OpenApiTypes.STR, description="Identifiant du modèle."),
            OpenApiParameter("key", OpenApiTypes.STR, description="Préfixe d'une clé du compte."),
        ],
        responses={200: UsageOut, 400: _detail_schema, 401: _detail_schema},
    )
    def get(self, request):
        account = request.auth.account
        month = Month.current()
        try:
            start = _date_param(request, "from", month.first_day)
            end = _date_param(request, "to", max(start, local_date(timezone.now())))
            if end < start:
                raise _BadFilter("« to » doit être postérieur ou égal à « from ».")
            if (end - start).days >= MAX_USAGE_DAYS:
                raise _BadFilter(f"Période trop longue : au plus {MAX_USAGE_DAYS} jours.")
            model = request.query_params.get("model") or None
            if model and not AIModel.objects.filter(slug=model).exists():
                raise _BadFilter(f"Modèle inconnu : « {model[:60]} ».")
            key = request.query_params.get("key") or None
            if key and not account.api_keys.filter(prefix=key).exists():
                raise _BadFilter(f"Aucune clé de ce compte n'a le préfixe « {key[:20]} ».")
        except _BadFilter as error:
            return _detail(str(error), status.HTTP_400_BAD_REQUEST)
        rows = usage_per_day_and_model(
            usage_events(account=account, start=start, end=end, model_slug=model, key_prefix=key)
        )
        return Response(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "results": [
                    {
                        "date": row["day"].isoformat(),
                        "model": row["model"],
                        "calls": row["calls"],
                        "input_tokens": row["input_tokens"],
                        "output_tokens": row["output_tokens"],
                        "images": row["images"],
                        "cost": amount(row["cost"]),
                        "credits": amount(row["credits"]),
                        "overage": amount(row["overage"]),
                        "written_off": amount(row["written_off"]),
                    }
                    for row in rows
                ],
            }
        )
