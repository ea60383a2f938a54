"""The customer's own API: the account overview and usage per day and model."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import (
    CustomerKeyAuthentication,
    IsCustomer,
)
from accounts.permissions import KeyRolePermission
from catalog.models import AIModel

from ..bill import bill_so_far
from ..metering import (
    account_state,
)
from ..periods import Month, local_date
from ..selectors import (
    FIRST_DAY,
    LAST_DAY,
    MAX_USAGE_DAYS,
    UsageFilters,
    usage_per_day_and_model,
)
from .schemas import ERROR_SCHEMA, AccountOut, UsageOut, amount, bill_json, error_response


class CustomerView(APIView):
    authentication_classes = [CustomerKeyAuthentication]
    # The key acts with its creator's role in the account (accounts/permissions.py).
    permission_classes = [IsCustomer, KeyRolePermission]
    required_permission = "usage.view"


class AccountView(CustomerView):
    @extend_schema(
        tags=["compte"],
        operation_id="account",
        summary="Formule, crédits et dépassement du mois en cours",
        description="Montants en DZD, en chaînes, exacts (au moins deux décimales).",
        responses={200: AccountOut, 401: ERROR_SCHEMA},
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
        raise _BadFilter(
            _("« %(name)s » doit être une date AAAA-MM-JJ.") % {"name": name}
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _BadFilter(
            _("« %(name)s » doit être entre %(first)s et %(last)s.")
            % {"name": name, "first": FIRST_DAY, "last": LAST_DAY}
        )
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
        responses={200: UsageOut, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA},
    )
    def get(self, request):
        account = request.auth.account
        month = Month.current()
        try:
            start = _date_param(request, "from", month.first_day)
            end = _date_param(request, "to", max(start, local_date(timezone.now())))
            if end < start:
                raise _BadFilter(_("« to » doit être postérieur ou égal à « from »."))
            if (end - start).days >= MAX_USAGE_DAYS:
                raise _BadFilter(
                    _("Période trop longue : au plus %(days)s jours.") % {"days": MAX_USAGE_DAYS}
                )
            slug = request.query_params.get("model") or None
            model = AIModel.objects.filter(slug=slug).first() if slug else None
            if slug and model is None:
                raise _BadFilter(_("Modèle inconnu : « %(model)s ».") % {"model": slug[:60]})
            prefix = request.query_params.get("key") or None
            key = account.api_keys.filter(prefix=prefix).first() if prefix else None
            if prefix and key is None:
                raise _BadFilter(
                    _("Aucune clé de ce compte n'a le préfixe « %(prefix)s ».")
                    % {"prefix": prefix[:20]}
                )
        except _BadFilter as error:
            return error_response(str(error), status.HTTP_400_BAD_REQUEST)
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
