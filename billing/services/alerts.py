"""Credit alerts: the owner is told once per period at 80 % and at 100 % of included credits."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from iafactory.formatting import month_label

from ..models import BillingPeriod, CreditAlert

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
        transaction.on_commit(lambda pk=alert.pk: _enqueue(pk))
    return claimed


def _enqueue(alert_id: int) -> None:
    """Hand the e-mail to a worker; the usage is already committed, so never fail here."""
    from ..tasks import credit_alert_send_task

    try:
        credit_alert_send_task.delay(alert_id=alert_id)
    except Exception:  # broker down: the daily housekeeping sends what is left
        logger.warning("credit alert %s not queued; housekeeping will send it", alert_id)


# An alert still unsent after this long was lost (broker or SMTP down): housekeeping sends it.
PENDING_AFTER = timedelta(minutes=10)


def credit_alerts_send_pending() -> int:
    """Send the alerts whose e-mail never went out; returns how many were sent."""
    pending = CreditAlert.objects.filter(
        sent_at__isnull=True, created_at__lt=timezone.now() - PENDING_AFTER
    ).values_list("pk", flat=True)
    return sum(credit_alert_send(alert_id=alert_id) for alert_id in list(pending))


@transaction.atomic
def credit_alert_send(*, alert_id: int) -> bool:
    """E-mail the account owner once; a failure is logged and leaves sent_at empty (seen in
    admin, retried by housekeeping). The row lock keeps two workers from both sending it."""
    alert = (
        CreditAlert.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("period__account__owner")
        .filter(pk=alert_id)
        .first()
    )
    if alert is None or alert.sent_at is not None:
        return False
    period = alert.period
    account = period.account
    context = {
        "account": account,
        "period": period,
        "month_label": month_label(period.month),
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
