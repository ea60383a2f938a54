"""The portal's refusal reasons, as the OpenAI-style errors API clients expect."""

from __future__ import annotations

from dataclasses import dataclass

UNAUTHORIZED = 401
PAYMENT_REQUIRED = 402
FORBIDDEN = 403
UNAVAILABLE = 503


class PortalUnavailable(Exception):
    """The portal could not be reached, or answered something other than a usable 2xx (then
    the reporter keeps the batch and resends it whole: what was recorded answers duplicate)."""


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    message: str


# reason -> (HTTP status, French message used when the portal sends none)
REASONS: dict[str, tuple[int, str]] = {
    "missing_key": (UNAUTHORIZED, "Clé API absente : envoyez « Authorization: Bearer iaf_… »."),
    "unknown_key": (UNAUTHORIZED, "Clé API inconnue."),
    "revoked_key": (UNAUTHORIZED, "Cette clé API a été révoquée."),
    "inactive_account": (UNAUTHORIZED, "Le compte de cette clé API est désactivé."),
    "no_credits": (
        PAYMENT_REQUIRED,
        "Crédits du mois épuisés : activez le pay as you go ou changez de formule.",
    ),
    "no_formula": (PAYMENT_REQUIRED, "Aucune formule active : choisissez une formule."),
    "payg_cap_reached": (PAYMENT_REQUIRED, "Plafond de pay as you go du mois atteint."),
    "key_budget_reached": (PAYMENT_REQUIRED, "Budget mensuel de cette clé API atteint."),
    "unpaid_invoice": (PAYMENT_REQUIRED, "Facture impayée : réglez-la pour reprendre les appels."),
    "portal_unavailable": (
        UNAVAILABLE,
        "Vérification de la clé momentanément impossible : réessayez dans quelques instants.",
    ),
}


def refusal_for(reason: str | None, message: str | None = None) -> Refusal:
    """Unknown future reasons are refused with 403 and the portal's own message."""
    status, default = REASONS.get(reason or "", (FORBIDDEN, "Appel refusé par IAFactory."))
    return Refusal(status=status, reason=reason or "refused", message=message or default)
