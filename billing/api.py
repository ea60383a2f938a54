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

from .bill import Bill, bill_so_far
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
from .selectors import (
    FIRST_DAY,
    LAST_DAY,
    MAX_USAGE_DAYS,
    UsageFilters,
    usage_per_day_and_model,
)

MAX_BODY_BYTES = 5 * 1024 * 1024


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
            "expired_key",
            "inactive_account",
            "key_budget_reached",
            "no_credits",
            "no_formula",
            "payg_cap_reached",
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


class BillLineOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["fee", "overage"])
    description = serializers.CharField()
    amount = Amount(help_text="HT, arrondi au centime.")
    days = serializers.IntegerField(allow_null=True)
    input_tokens = serializers.IntegerField(allow_null=True)
    output_tokens = serializers.IntegerField(allow_null=True)
    images = serializers.IntegerField(allow_null=True)


class BillOut(serializers.Serializer):
    lines = BillLineOut(many=True)
    ht = Amount()
    tva_rate = Amount(help_text="Taux de TVA en %, 0 pour un compte exonéré.")
    tva = Amount()
    ttc = Amount()


def bill_json(bill: Bill) -> dict:
    """The month's bill so far, as the invoice the close would issue now (decimal strings)."""
    return {
        "lines": [
            {
                "kind": line.kind,
                "description": line.description,
                "amount": amount(line.amount),
                "days": line.days,
                "input_tokens": line.input_tokens,
                "output_tokens": line.output_tokens,
                "images": line.images,
            }
            for line in bill.lines
        ],
        "ht": amount(bill.ht),
        "tva_rate": amount(bill.tva_rate),
        "tva": amount(bill.tva),
        "ttc": amount(bill.ttc),
    }


class AccountOut(serializers.Serializer):
    plan = serializers.CharField(allow_null=True, help_text="starter, standard, expert ou null.")
    pay_as_you_go = serializers.BooleanField()
    period = serializers.CharField(help_text="Mois en cours, AAAA-MM (Africa/Algiers).")
    credits = CreditsOut()
    overage = Amount(help_text="Dépassement du mois, facturé en fin de mois (DZD, exact).")
    written_off = Amount(help_text="Part abandonnée, jamais facturée (DZD, exact).")
    scheduled_plan = ScheduledPlanOut(allow_null=True, help_text="Changement programmé.")
    payg_cap = Amount(
        allow_null=True, help_text="Plafond mensuel de dépassement (DZD HT) ; null : sans plafond."
    )
    payg_cap_remaining = Amount(
        allow_null=True, help_text="Dépassement encore possible ce mois-ci ; null : sans plafond."
    )
    prepaid_balance = Amount(help_text="Solde prépayé (DZD HT), sans expiration.")
    prepaid_used = Amount(help_text="Part du mois payée par le solde prépayé (DZD, exact).")
    bill_so_far = BillOut(
        help_text="Facture en cours : ce que la clôture facturerait si le mois finissait "
        "maintenant (même calcul)."
    )


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
        description="Oui quand la clé est active, non expirée et sous son budget mensuel, et "
        "que le compte a des crédits restants, un solde prépayé ou le pay as you go activé "
        "sous son plafond.",
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
                "payg_cap": amount(state.payg_cap),
                "payg_cap_remaining": amount(state.payg_cap_remaining),
                "prepaid_balance": amount(state.prepaid_balance),
                "prepaid_used": amount(period.prepaid_used),
                "bill_so_far": bill_json(bill_so_far(period=period)),
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


class _BadFilter(Exception):
    pass


class UsageView(CustomerView):
    @extend_schema(
        tags=["compte"],
        operation_id="usage",
        summary="Consommation du compte, par jour et par modèle",
        description="Jours en heure d'Alger. Par défaut, du 1er du mois en cours à aujourd'hui. "
        "Filtres combinables : période (au plus 366 jours), modèle, clé. Lu dans les totaux "
        "journaliers : le temps de réponse ne dépend pas du nombre d'appels.",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                description="Premier jour inclus (AAAA-MM-JJ) ; par défaut le 1er du mois.",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                description="Dernier jour inclus ; par défaut aujourd'hui (au plus 366 jours).",
            ),
            OpenApiParameter(
                "model", OpenApiTypes.STR, description="Identifiant du modèle, ex. « gpt-4.1 »."
            ),
            OpenApiParameter(
                "key", OpenApiTypes.STR, description="Préfixe d'une clé du compte, « iaf_… »."
            ),
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
            slug = request.query_params.get("model") or None
            model = AIModel.objects.filter(slug=slug).first() if slug else None
            if slug and model is None:
                raise _BadFilter(f"Modèle inconnu : « {slug[:60]} ».")
            prefix = request.query_params.get("key") or None
            key = account.api_keys.filter(prefix=prefix).first() if prefix else None
            if prefix and key is None:
                raise _BadFilter(f"Aucune clé de ce compte n'a le préfixe « {prefix[:20]} ».")
        except _BadFilter as error:
            return _detail(str(error), status.HTTP_400_BAD_REQUEST)
        filters = UsageFilters(start=start, end=end, model=model, api_key=key)
        rows = usage_per_day_and_model(filters.rows(account=account))
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
