"""The gateway's calls: authorize a request, report usage events (DESIGN.md, API)."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import (
    GatewayTokenAuthentication,
    IsGateway,
)

from ..metering import (
    MAX_BATCH,
    BatchTooLarge,
    api_key_storable,
    usage_authorize,
    usage_record_batch,
)
from .schemas import (
    ERROR_SCHEMA,
    AuthorizeRequest,
    AuthorizeResponse,
    UsageBatchIn,
    UsageBatchOut,
    amount,
    error_response,
    json_body,
)

MAX_BODY_BYTES = 5 * 1024 * 1024


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
            400: ERROR_SCHEMA,
            401: OpenApiResponse(ERROR_SCHEMA, description="Jeton de passerelle absent ou faux."),
        },
    )
    def post(self, request):
        body = json_body(request)
        raw_key = body.get("api_key") if isinstance(body, dict) else None
        if not isinstance(raw_key, str) or not raw_key:
            return error_response("« api_key » est obligatoire.", status.HTTP_400_BAD_REQUEST)
        if not api_key_storable(raw_key):
            return error_response(
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
        "rejeté avec un message ; les autres événements du lot sont traités quand même. "
        "Après une réponse 5xx, une partie du lot peut être déjà enregistrée : renvoyez le "
        "même lot, ces événements y reviennent en doublons (facturés une seule fois).",
        request=UsageBatchIn,
        responses={
            200: UsageBatchOut,
            400: OpenApiResponse(ERROR_SCHEMA, description="Corps mal formé."),
            401: OpenApiResponse(ERROR_SCHEMA, description="Jeton de passerelle absent ou faux."),
            413: OpenApiResponse(ERROR_SCHEMA, description="Plus de 1 000 événements."),
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
            return error_response(
                "Corps de requête trop volumineux.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        body = json_body(request)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return error_response(
                'Corps attendu : {"events": [ … ]} (une liste d\'événements).',
                status.HTTP_400_BAD_REQUEST,
            )
        try:
            batch = usage_record_batch(events=events)
        except BatchTooLarge:
            return error_response(
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
