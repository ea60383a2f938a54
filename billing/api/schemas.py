"""Shapes of the metering API: request and response serializers, amounts as strings."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import (
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from ..bill import Bill
from ..metering import (
    MAX_BATCH,
)
from ..money import CENT


def amount(value: Decimal | None) -> str | None:
    """An exact amount as a string, with at least two decimals: "1000.00", "1.625"."""
    if value is None:
        return None
    value = value.normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(CENT)
    return f"{value:f}"


def error_response(message: str, code: int) -> Response:
    return Response({"detail": message}, status=code)


def json_body(request) -> object:
    try:
        return request.data
    except ParseError:
        raise ParseError("Corps de requête invalide : JSON attendu.") from None
    except RecursionError:
        # The JSON decoder gives up on nesting about a thousand levels deep.
        raise ParseError("Corps de requête invalide : JSON trop imbriqué.") from None


# --- documentation-only serializers ----------------------------------------------------------

Amount = serializers.CharField
ERROR_SCHEMA = inline_serializer("Erreur", {"detail": serializers.CharField()})


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
    unit = serializers.ChoiceField(
        choices=["input", "output", "image", ""],
        help_text="Lignes de dépassement : tokens en entrée, en sortie, ou images (issue 15).",
    )
    unit_price = serializers.CharField(
        allow_null=True, help_text="DZD HT par million de tokens, ou par image."
    )
    quantity = serializers.CharField(
        allow_null=True,
        help_text="Quantité facturée au-delà des crédits : montant = quantité × prix unitaire.",
    )


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
                "unit": line.unit,
                "unit_price": None if line.unit_price is None else f"{line.unit_price:f}",
                "quantity": None if line.billed_quantity is None else f"{line.billed_quantity:f}",
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
