"""Which spending alerts are due: thresholds in % of the included credits, of the pay-as-you-go
ceiling and of each key's budget (issue 11).

Two steps, so that nothing here can slow or fail the metering:

1. In the charge's transaction, ``alerts_after_charge`` compares each period's and each key's
   totals before and after the batch with the thresholds, from values the metering already
   holds (the key rows carry the account's settings; the ceiling and the budgets are read under
   the charge's locks): no query. Only a period where a threshold may have been reached gets a
   check, queued once the charge commits (none if it rolls back, none for a month already over).
2. ``alerts_check`` (a worker) reads the period's committed state and claims, for each kind (and
   key), the highest threshold newly reached: one e-mail per kind however many thresholds one
   event crossed, each threshold at most once per period. A broker or SMTP outage leaves work
   that the daily housekeeping finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from accounts.models import ApiKey

from ..models import AlertSettings, BillingPeriod, CreditAlert, KeySpend, Subscription
from ..models import default_thresholds as _default_list
from ..money import ZERO
from ..periods import Month
from .alerts_notices import credit_alert_send

logger = logging.getLogger(__name__)

Kind = CreditAlert.Kind


@dataclass(frozen=True)
class Thresholds:
    credits: tuple[int, ...]
    payg_cap: tuple[int, ...]
    key_budget: tuple[int, ...]

    @classmethod
    def of(cls, credits, payg_cap, key_budget) -> Thresholds:
        """From the settings row's three lists; None (no row): the defaults."""
        default = tuple(_default_list())
        return cls(
            *(
                tuple(values) if values is not None else default
                for values in (credits, payg_cap, key_budget)
            )
        )


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


def crossed(
    *, thresholds: Iterable[int], reference: Decimal | None, before: Decimal, after: Decimal
) -> bool:
    """Whether going from `before` to `after` reaches one of the thresholds of `reference`."""
    if reference is None or reference <= 0 or after <= before:
        return False
    return any(before * 100 < reference * t <= after * 100 for t in thresholds)


# --- step 1: in the charge, from the values in hand ---------------------------------------------


@dataclass(frozen=True)
class ChargedPeriod:
    """What one charge did to one period: its totals before and after, with the account's
    thresholds and its pay-as-you-go ceiling as the charge read them."""

    period_id: int
    account_id: int
    month: date
    included: Decimal
    consumed: tuple[Decimal, Decimal]
    overage: tuple[Decimal, Decimal]
    thresholds: Thresholds
    payg_cap: Decimal | None


@dataclass(frozen=True)
class ChargedKey:
    """What one charge did to one key's spend of the month, with its budget (None: none)."""

    api_key_id: int
    period_id: int
    budget: Decimal | None
    charged: tuple[Decimal, Decimal]


# What this process last saw of each account's references (thresholds and ceiling) and of each
# key's budget. A batch that finds them changed (the customer lowered a threshold, the ceiling
# or a budget) looks at every threshold reached, not only those crossed now: the worker's check
# reads everything fresh and claims by state, so nothing passed meanwhile is lost.
_seen_accounts: dict[int, tuple[Thresholds, Decimal | None]] = {}
_seen_budgets: dict[int, Decimal | None] = {}


def alerts_watch_forget(account_id: int | None = None) -> None:
    """Drop what this process remembers (of one account, or of all: tests)."""
    if account_id is None:
        _seen_accounts.clear()
        _seen_budgets.clear()
    else:
        _seen_accounts.pop(account_id, None)


def _changed(memory: dict, key: int, value) -> bool:
    previous = memory.get(key, value)
    memory[key] = value
    return previous != value


def alerts_after_charge(
    *, periods: Sequence[ChargedPeriod], keys: Sequence[ChargedKey], today: Month
) -> None:
    """Called by the metering inside its transaction: queue, for after the commit, the check of
    each period of `today`'s month where a threshold may have been reached. No query."""
    fresh_periods = set()
    due: set[int] = set()
    thresholds_of: dict[int, tuple[int, ...]] = {}
    for charged in periods:
        if Month.of(charged.month) != today:
            continue  # events reported late for a month over: no alert
        if _changed(_seen_accounts, charged.account_id, (charged.thresholds, charged.payg_cap)):
            fresh_periods.add(charged.period_id)
        thresholds_of[charged.period_id] = charged.thresholds.key_budget
        fresh = charged.period_id in fresh_periods
        if crossed(
            thresholds=charged.thresholds.credits,
            reference=charged.included,
            before=ZERO if fresh else charged.consumed[0],
            after=charged.consumed[1],
        ) or crossed(
            thresholds=charged.thresholds.payg_cap,
            reference=charged.payg_cap,
            before=ZERO if fresh else charged.overage[0],
            after=charged.overage[1],
        ):
            due.add(charged.period_id)
    for key in keys:
        thresholds = thresholds_of.get(key.period_id)
        budget_changed = _changed(_seen_budgets, key.api_key_id, key.budget)
        if not thresholds or key.period_id in due:
            continue
        fresh = budget_changed or key.period_id in fresh_periods
        if crossed(
            thresholds=thresholds,
            reference=key.budget,
            before=ZERO if fresh else key.charged[0],
            after=key.charged[1],
        ):
            due.add(key.period_id)
    for period_id in sorted(due):
        transaction.on_commit(partial(_enqueue_check, period_id), robust=True)


def _enqueue_check(period_id: int) -> None:
    from ..tasks import alerts_check_task

    try:
        # No publish retries: with the broker down the gateway's request must not wait.
        alerts_check_task.apply_async(kwargs={"period_id": period_id}, retry=False)
    except Exception:  # the usage is committed; housekeeping checks the open periods daily
        logger.warning("alert check of period %s not queued; housekeeping will run it", period_id)


# --- step 2: the worker's check, from the committed state ---------------------------------------


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
