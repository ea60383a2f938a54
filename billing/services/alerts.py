"""Spending alerts the customer sets: thresholds in % of the included credits, of the
pay-as-you-go ceiling and of each key's budget (default 80 % and 100 % of each).

The metering only registers, inside its transaction, that a period changed; once the charge
has committed a worker reads the period's state and claims, for each kind (and key), the
highest threshold newly reached: one e-mail per kind however many thresholds one event
crossed, each threshold at most once per period. Nothing here can slow or fail the metering:
a broker or SMTP outage leaves work that the daily housekeeping finishes.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.email_language import user_language
from accounts.models import Account, ApiKey
from accounts.selectors import billing_recipients
from iafactory.formatting import month_label

from ..models import (
    AlertSettings,
    BillingPeriod,
    CreditAlert,
    KeySpend,
    Subscription,
    default_thresholds,
)
from ..money import ZERO
from ..periods import Month

logger = logging.getLogger(__name__)

Kind = CreditAlert.Kind
MAX_THRESHOLDS = 5


class AlertSettingsError(ValueError):
    """Thresholds the customer typed that cannot be kept; the message is for them."""


# --- the arithmetic ---------------------------------------------------------------------------


def highest_reached(
    *, thresholds: Iterable[int], reference: Decimal | None, used: Decimal, above: int | None
) -> int | None:
    """The highest threshold (percent of `reference`) that `used` reaches, if it is above the
    highest one already claimed (`above`); None when there is nothing new to say."""
    if reference is None or reference <= 0:
        return None
    reached = [
        threshold
        for threshold in thresholds
        if used * 100 >= reference * threshold and (above is None or threshold > above)
    ]
    return max(reached, default=None)


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


# --- the customer's settings ------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    credits: tuple[int, ...]
    payg_cap: tuple[int, ...]
    key_budget: tuple[int, ...]


def alert_thresholds(*, account: Account) -> Thresholds:
    row = AlertSettings.objects.filter(account=account).first()
    if row is None:
        default = tuple(default_thresholds())
        return Thresholds(default, default, default)
    return Thresholds(tuple(row.credits), tuple(row.payg_cap), tuple(row.key_budget))


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
    alerts_watch_forget(account.pk)
    transaction.on_commit(partial(alerts_watch_forget, account.pk))  # a reload meanwhile
    return row


# --- the check, after the charge commits -------------------------------------------------------


def crossed(
    *, thresholds: Iterable[int], reference: Decimal | None, before: Decimal, after: Decimal
) -> bool:
    """Whether going from `before` to `after` reaches one of the thresholds of `reference`."""
    if reference is None or reference <= 0:
        return False
    return any(before * 100 < reference * t <= after * 100 for t in thresholds)


# What the metering's processes remember of each account to decide, without a query, whether a
# batch may have reached a threshold: reloaded after WATCH_TTL seconds, so a change of settings,
# ceiling or budget made in another process is seen within that delay (a reload that finds them
# changed looks at every threshold reached, not only those crossed now: the worker's check reads
# everything fresh and claims by state, so nothing passed during the delay is lost).
WATCH_TTL = 300.0


@dataclass(frozen=True)
class _Watch:
    thresholds: Thresholds
    payg_cap: Decimal | None
    budgets: dict[int, Decimal]  # the account's active keys that have a budget
    expires: float = field(compare=False)


_watches: dict[int, _Watch] = {}


def alerts_watch_forget(account_id: int | None = None) -> None:
    """Drop what this process remembers (of one account, or of all: tests)."""
    if account_id is None:
        _watches.clear()
    else:
        _watches.pop(account_id, None)


def _watch(account_id: int) -> tuple[_Watch, bool]:
    """The account's watch, and whether it was just reloaded with other values than before."""
    now = time.monotonic()
    previous = _watches.get(account_id)
    if previous is not None and previous.expires > now:
        return previous, False
    row = (
        Account.objects.filter(pk=account_id)
        .values_list(
            "subscription__payg_cap",
            "alert_settings__credits",
            "alert_settings__payg_cap",
            "alert_settings__key_budget",
        )
        .first()
    )
    payg_cap, *lists = row or (None, None, None, None)
    default = tuple(default_thresholds())
    thresholds = Thresholds(*(tuple(v) if v is not None else default for v in lists))
    budgets = dict(
        ApiKey.objects.filter(
            account_id=account_id, monthly_budget__isnull=False, revoked_at__isnull=True
        ).values_list("pk", "monthly_budget")
    )
    watch = _Watch(thresholds, payg_cap, budgets, now + WATCH_TTL)
    _watches[account_id] = watch
    return watch, previous is not None and previous != watch


@dataclass(frozen=True)
class _Charged:
    """What one batch did to one period: its totals before and after, and its new rows."""

    period_id: int
    account_id: int
    month: date
    included: Decimal
    consumed: tuple[Decimal, Decimal]
    overage: tuple[Decimal, Decimal]
    rows: Sequence


def alerts_check_after_commit(*, period: BillingPeriod, after, rows: Sequence) -> None:
    """Called by the metering, in its transaction, for each period it charged (`after`: the
    period's new totals, `rows`: the batch's new event rows). Once that transaction commits,
    and only if a threshold may have been reached, a worker runs the check; nothing is queued
    if it rolls back, nor for a month already over (events reported late)."""
    if Month.of(period.month) != Month.current():
        return
    charged = _Charged(
        period.pk,
        period.account_id,
        period.month,
        period.included_credits,
        (period.consumed, after.consumed),
        (period.overage, after.overage),
        rows,
    )
    transaction.on_commit(partial(_after_commit, charged), robust=True)


def _after_commit(charged: _Charged) -> None:
    try:
        if _may_have_crossed(charged):
            _enqueue_check(charged.period_id)
    except Exception:  # the usage is committed: never let an alert fail the request
        logger.exception("alert pre-check of period %s failed", charged.period_id)


def _may_have_crossed(charged: _Charged) -> bool:
    watch, changed = _watch(charged.account_id)

    def since(before: Decimal) -> Decimal:
        return ZERO if changed else before

    if crossed(
        thresholds=watch.thresholds.credits,
        reference=charged.included,
        before=since(charged.consumed[0]),
        after=charged.consumed[1],
    ) or crossed(
        thresholds=watch.thresholds.payg_cap,
        reference=watch.payg_cap,
        before=since(charged.overage[0]),
        after=charged.overage[1],
    ):
        return True
    if not watch.budgets or not watch.thresholds.key_budget:
        return False
    budgeted: dict[int, Decimal] = defaultdict(Decimal)
    for row in charged.rows:
        if row.period_id == charged.period_id and row.api_key_id in watch.budgets:
            budgeted[row.api_key_id] += row.credits + row.overage + getattr(row, "prepaid", 0)
    if not budgeted:
        return False
    spends = KeySpend.objects.filter(
        api_key_id__in=list(budgeted), month=charged.month
    ).values_list("api_key_id", "charged")
    return any(
        crossed(
            thresholds=watch.thresholds.key_budget,
            reference=watch.budgets[key_id],
            before=since(spent - budgeted[key_id]),
            after=spent,
        )
        for key_id, spent in spends
    )


def _enqueue_check(period_id: int) -> None:
    from ..tasks import alerts_check_task

    try:
        # No publish retries: with the broker down the gateway's request must not wait.
        alerts_check_task.apply_async(kwargs={"period_id": period_id}, retry=False)
    except Exception:  # the usage is committed; housekeeping checks the open periods daily
        logger.warning("alert check of period %s not queued; housekeeping will run it", period_id)


@dataclass(frozen=True)
class _Reading:
    kind: str
    api_key: ApiKey | None
    thresholds: tuple[int, ...]
    reference: Decimal | None
    used: Decimal


def _readings(period: BillingPeriod, thresholds: Thresholds) -> list[_Reading]:
    payg_cap = (
        Subscription.objects.filter(account_id=period.account_id)
        .values_list("payg_cap", flat=True)
        .first()
    )
    readings = [
        _Reading(Kind.CREDITS, None, thresholds.credits, period.included_credits, period.consumed),
        _Reading(Kind.PAYG_CAP, None, thresholds.payg_cap, payg_cap, period.overage),
    ]
    if thresholds.key_budget:
        spends = KeySpend.objects.filter(
            api_key__account_id=period.account_id,
            api_key__monthly_budget__isnull=False,
            api_key__revoked_at__isnull=True,
            month=period.month,
        ).select_related("api_key")
        readings += [
            _Reading(
                Kind.KEY_BUDGET,
                spend.api_key,
                thresholds.key_budget,
                spend.api_key.monthly_budget,
                spend.charged,
            )
            for spend in spends
        ]
    return readings


def alerts_check(*, period_id: int) -> list[CreditAlert]:
    """Claim the alerts the period's committed state calls for; each is e-mailed after commit.

    The account's settings row is locked so that two checks of one account run one after the
    other, the second reading what the first claimed; the unique constraints still decide
    where row locks do not exist (SQLite).
    """
    claimed: list[CreditAlert] = []
    with transaction.atomic():
        head = BillingPeriod.objects.filter(pk=period_id).values("account_id", "month").first()
        if head is None or Month.of(head["month"]) != Month.current():
            return claimed
        AlertSettings.objects.get_or_create(account_id=head["account_id"])
        row = AlertSettings.objects.select_for_update().get(account_id=head["account_id"])
        thresholds = Thresholds(tuple(row.credits), tuple(row.payg_cap), tuple(row.key_budget))
        # Read after the lock: the latest committed totals, not those of the queued moment.
        period = BillingPeriod.objects.get(pk=period_id)
        if period.status == BillingPeriod.Status.CLOSED:
            return claimed
        already = {
            (item["kind"], item["api_key_id"]): item["top"]
            for item in CreditAlert.objects.filter(period=period)
            .values("kind", "api_key_id")
            .annotate(top=Max("threshold"))
        }
        for reading in _readings(period, thresholds):
            key_id = reading.api_key.pk if reading.api_key else None
            threshold = highest_reached(
                thresholds=reading.thresholds,
                reference=reading.reference,
                used=reading.used,
                above=already.get((reading.kind, key_id)),
            )
            if threshold is None:
                continue
            try:
                with transaction.atomic():
                    alert = CreditAlert.objects.create(
                        period=period,
                        kind=reading.kind,
                        api_key=reading.api_key,
                        threshold=threshold,
                        reference=reading.reference,
                        used=reading.used,
                    )
            except IntegrityError:
                continue
            claimed.append(alert)
            transaction.on_commit(partial(credit_alert_send, alert_id=alert.pk), robust=True)
    return claimed


def alerts_check_open_periods() -> int:
    """Housekeeping: check this month's periods that have usage (a check the broker lost)."""
    month = Month.current()
    ids = BillingPeriod.objects.filter(
        Q(consumed__gt=0) | Q(prepaid_used__gt=0) | Q(overage__gt=0),
        month=month.first_day,
        status=BillingPeriod.Status.OPEN,
    ).values_list("pk", flat=True)
    return sum(len(alerts_check(period_id=period_id)) for period_id in list(ids))


# --- the e-mail --------------------------------------------------------------------------------

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
    """E-mail the account's billing recipients once (accounts.selectors.billing_recipients); a
    failure is logged and leaves sent_at empty (seen in admin, retried by housekeeping). The row
    lock keeps two workers from both sending it."""
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
