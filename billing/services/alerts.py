"""Spending alerts the customer sets: thresholds in % of the included credits, of the
pay-as-you-go ceiling and of each key's budget (default 80 % and 100 % of each), and the billing
address that also receives them (issue 11).

This module holds the settings; which alerts are due is ``alerts_checks`` (a pre-check in the
metering's transaction, the claim by a worker), the e-mails ``alerts_notices``. Their public
names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account

from ..models import AlertSettings
from .alerts_checks import (
    ChargedKey,
    ChargedPeriod,
    Thresholds,
    alerts_after_charge,
    alerts_check,
    alerts_check_open_periods,
    alerts_watch_forget,
    crossed,
    highest_reached,
)
from .alerts_notices import (
    PENDING_AFTER,
    TEMPLATES,
    credit_alert_send,
    credit_alerts_send_pending,
)

__all__ = [
    "MAX_THRESHOLDS",
    "PENDING_AFTER",
    "TEMPLATES",
    "AlertSettingsError",
    "ChargedKey",
    "ChargedPeriod",
    "Thresholds",
    "alert_settings_set",
    "alert_thresholds",
    "alerts_after_charge",
    "alerts_check",
    "alerts_check_open_periods",
    "alerts_watch_forget",
    "credit_alert_send",
    "credit_alerts_send_pending",
    "crossed",
    "highest_reached",
    "thresholds_parse",
]

MAX_THRESHOLDS = 5


class AlertSettingsError(ValueError):
    """Thresholds the customer typed that cannot be kept; the message is for them."""


# --- the customer's settings ------------------------------------------------------------------


def thresholds_parse(text: str) -> list[int]:
    """ "80, 100" -> [80, 100]: whole percentages from 1 to 100, at most five; empty: none."""
    parts = [part.strip().rstrip("%").strip() for part in text.replace(";", ",").split(",")]
    values = set()
    for part in parts:
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 100:
            message = _(
                "« %(value)s » n'est pas un seuil valide : indiquez des pourcentages entiers "
                "de 1 à 100, séparés par des virgules (par exemple « 50, 80, 100 »)."
            )
            raise AlertSettingsError(message % {"value": part})
        values.add(int(part))
    if len(values) > MAX_THRESHOLDS:
        raise AlertSettingsError(
            _("Au plus %(count)s seuils par alerte.") % {"count": MAX_THRESHOLDS}
        )
    return sorted(values)


def alert_thresholds(*, account: Account) -> Thresholds:
    row = AlertSettings.objects.filter(account=account).first()
    if row is None:
        return Thresholds.of(None, None, None)
    return Thresholds.of(row.credits, row.payg_cap, row.key_budget)


@transaction.atomic
def alert_settings_set(
    *,
    account: Account,
    credits: Sequence[int],
    payg_cap: Sequence[int],
    key_budget: Sequence[int],
    billing_email: str,
) -> AlertSettings:
    """Save the account's thresholds and the billing address that also receives the alerts."""
    for values in (credits, payg_cap, key_budget):
        if len(values) > MAX_THRESHOLDS or any(not 1 <= v <= 100 for v in values):
            raise AlertSettingsError(_("Seuils invalides : de 1 à 100 %, au plus cinq."))
    row, _created = AlertSettings.objects.select_for_update().get_or_create(account=account)
    row.credits = sorted(set(credits))
    row.payg_cap = sorted(set(payg_cap))
    row.key_budget = sorted(set(key_budget))
    row.save()
    Account.objects.filter(pk=account.pk).update(billing_email=billing_email.strip())
    account.billing_email = billing_email.strip()
    return row
