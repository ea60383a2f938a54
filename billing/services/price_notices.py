"""Price increases announced by staff: an e-mail to each customer who used the model in the
last 3 months (once per announced price row), and the espace client's banner until the date."""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.email_language import user_language
from accounts.models import Account
from catalog.models import ModelPrice

from ..models import PriceIncreaseNotice, UsageDaily
from ..periods import Month, local_date

logger = logging.getLogger(__name__)

RECENT_MONTHS = 3


def months_before(day: date, months: int) -> date:
    """The same day `months` months earlier, the month's last day when it has fewer days."""
    month = Month.of(day)
    for _ in range(months):
        month = month.previous()
    return month.first_day.replace(day=min(day.day, month.days))


def price_recent_users(*, price: ModelPrice, now: datetime | None = None) -> list[int]:
    """Accounts that used the price's model in the last 3 months (Algiers days, today included).

    Read from the daily rollups (model, day): no index on UsageEvent serves (model, occurred_at),
    and the rollups are far fewer rows; UsageDaily.model's foreign-key index narrows to the model.
    """
    today = local_date(now or timezone.now())
    return list(
        UsageDaily.objects.filter(
            model_id=price.model_id, day__gte=months_before(today, RECENT_MONTHS), day__lte=today
        )
        .values_list("account_id", flat=True)
        .distinct()
        .order_by("account_id")
    )


def price_increase_notify(*, price_id: int, now: datetime | None = None) -> int:
    """Record a notice for every recent user and e-mail those not told yet; returns how many
    e-mails went out. Safe to run twice or concurrently: the unique notice row and the claim
    on sent_at make one e-mail per customer and price row."""
    price = ModelPrice.objects.select_related("model").filter(pk=price_id).first()
    if price is None or price.effective_at <= (now or timezone.now()):
        return 0
    sent = 0
    for account_id in price_recent_users(price=price, now=now):
        try:
            with transaction.atomic():
                notice, _ = PriceIncreaseNotice.objects.get_or_create(
                    account_id=account_id, price=price
                )
        except IntegrityError:  # another worker created it meanwhile
            notice = PriceIncreaseNotice.objects.get(account_id=account_id, price=price)
        if notice.sent_at is None:
            sent += _notice_send(notice=notice, price=price)
    return sent


def _notice_send(*, notice: PriceIncreaseNotice, price: ModelPrice) -> int:
    claimed = PriceIncreaseNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return 0
    account = Account.objects.select_related("owner").get(pk=notice.account_id)
    previous = (
        ModelPrice.objects.filter(model_id=price.model_id, effective_at__lt=price.effective_at)
        .order_by("-effective_at")
        .first()
    )
    context = {
        "account": account,
        "price": price,
        "previous": previous,
        "model": price.model,
        "site_url": settings.SITE_URL,
    }
    with translation.override(user_language(account.owner)):
        subject = render_to_string("billing/emails/price_increase_subject.txt", context).strip()
        body = render_to_string("billing/emails/price_increase.txt", context)
    try:
        send_mail(subject, body, None, [account.owner.email])
    except Exception:
        # Left unsent (sent_at empty): the next run of the task tries again.
        logger.exception("price increase notice %s could not be sent", notice.pk)
        PriceIncreaseNotice.objects.filter(pk=notice.pk).update(sent_at=None)
        return 0
    return 1


def price_banners(*, account: Account, now: datetime | None = None) -> list[PriceIncreaseNotice]:
    """The increases announced to `account` that have not taken effect yet, soonest first."""
    return list(
        PriceIncreaseNotice.objects.filter(
            account=account, price__effective_at__gt=now or timezone.now()
        )
        .select_related("price__model")
        .order_by("price__effective_at")
    )
