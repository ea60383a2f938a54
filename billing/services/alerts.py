"""Credit alerts: the owner is told once per period at 80 % and at 100 % of included credits."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import BillingPeriod, CreditAlert
from ..periods import Month

logger = logging.getLogger(__name__)

THRESHOLDS = (80, 100)


def crossed_thresholds(
    *, included: Decimal, consumed_before: Decimal, consumed_after: Decimal
) -> list[int]:
    """Thresholds (percent of included credits) reached by going from before to after."""
    if included <= 0:
        return []
    return [
        threshold
        for threshold in THRESHOLDS
        if consumed_before * 100 < included * threshold <= consumed_after * 100
    ]


def credit_alerts_check(
    *, period: BillingPeriod, consumed_before: Decimal, consumed_after: Decimal
) -> list[CreditAlert]:
    """Claim the alerts this consumption crossed; each is e-mailed after commit, once.

    The caller holds the period's row lock inside a transaction. The unique constraint
    (period, threshold) decides who sends: an insert that collides sends nothing.
    """
    claimed = []
    for threshold in crossed_thresholds(
        included=period.included_credits,
        consumed_before=consumed_before,
        consumed_after=consumed_after,
    ):
        try:
            with transaction.atomic():
                alert = CreditAlert.objects.create(period=period, threshold=threshold)
        except IntegrityError:
            continue
        claimed.append(alert)
        transaction.on_commit(lambda pk=alert.pk: credit_alert_send(alert_id=pk))
    return claimed


def credit_alert_send(*, alert_id: int) -> bool:
    """E-mail the account owner; a failure is logged and leaves sent_at empty (seen in admin)."""
    alert = CreditAlert.objects.select_related("period__account__owner").get(pk=alert_id)
    if alert.sent_at is not None:
        return False
    period = alert.period
    account = period.account
    context = {
        "account": account,
        "period": period,
        "month": Month.of(period.month),
        "threshold": alert.threshold,
        "remaining": period.included_credits - period.consumed,
        "site_url": getattr(settings, "SITE_URL", ""),
    }
    subject = render_to_string("billing/emails/credit_alert_subject.txt", context).strip()
    body = render_to_string("billing/emails/credit_alert.txt", context)
    try:
        send_mail(subject, body, None, [account.owner.email])
    except Exception:
        logger.exception("credit alert %s could not be sent", alert_id)
        return False
    CreditAlert.objects.filter(pk=alert_id, sent_at__isnull=True).update(sent_at=timezone.now())
    return True
