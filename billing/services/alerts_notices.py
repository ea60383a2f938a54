"""Spending alert e-mails: one per claimed alert, to the owner and the billing address, sent
once (issue 11); an SMTP outage leaves it for housekeeping to send later."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.email_language import user_language
from accounts.selectors import billing_recipients
from iafactory.formatting import month_label

from ..models import CreditAlert

logger = logging.getLogger(__name__)

Kind = CreditAlert.Kind

# An alert still unsent after this long was lost (broker or SMTP down): housekeeping sends it.
PENDING_AFTER = timedelta(minutes=10)


def credit_alerts_send_pending() -> int:
    """Send the alerts whose e-mail never went out; returns how many were sent."""
    pending = CreditAlert.objects.filter(
        sent_at__isnull=True, created_at__lt=timezone.now() - PENDING_AFTER
    ).values_list("pk", flat=True)
    return sum(credit_alert_send(alert_id=alert_id) for alert_id in list(pending))


TEMPLATES = {
    Kind.CREDITS: "billing/emails/credit_alert",
    Kind.PAYG_CAP: "billing/emails/payg_cap_alert",
    Kind.KEY_BUDGET: "billing/emails/key_budget_alert",
}


@transaction.atomic
def credit_alert_send(*, alert_id: int) -> bool:
    """E-mail the account's billing recipients once (accounts.selectors.billing_recipients), in
    the owner's language; a failure is logged and leaves sent_at empty (seen in admin, retried
    by housekeeping). The row lock keeps two workers from both sending it."""
    alert = (
        CreditAlert.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("period__account__owner", "api_key")
        .filter(pk=alert_id)
        .first()
    )
    if alert is None or alert.sent_at is not None:
        return False
    period = alert.period
    account = period.account
    reference = alert.reference if alert.reference is not None else period.included_credits
    used = alert.used if alert.used is not None else period.consumed
    language = user_language(account.owner)  # the billing address reads the owner's
    with translation.override(language):
        label = month_label(period.month)
    context = {
        "account": account,
        "period": period,
        "month_label": label,
        "threshold": alert.threshold,
        "key": alert.api_key,
        "reference": reference,
        "used": used,
        "remaining": max(reference - used, Decimal(0)),
        "site_url": getattr(settings, "SITE_URL", ""),
    }
    template = TEMPLATES[alert.kind]
    with translation.override(language):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}.txt", context)
    try:
        send_mail(subject, body, None, billing_recipients(account))
    except Exception:
        logger.exception("alert %s could not be sent", alert_id)
        return False
    CreditAlert.objects.filter(pk=alert_id, sent_at__isnull=True).update(sent_at=timezone.now())
    return True
