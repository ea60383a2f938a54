"""The charge's word to the spending alerts: its periods' and keys' totals before and after,
with the thresholds, ceilings and budgets it already read (no query; issue 11)."""

from __future__ import annotations

from collections.abc import Iterable

from ..periods import Month
from ..services.alerts_checks import ChargedKey, ChargedPeriod, Thresholds, alerts_after_charge
from .parse import Candidate
from .rows import PaygNow


def alerts_note(
    *,
    candidates: Iterable[Candidate],
    periods: Iterable,  # the charge's RunningPeriod that changed
    spends: Iterable,  # its RunningSpend that changed
    payg_now: PaygNow,
) -> None:
    """Hand the changed totals to ``alerts_after_charge``, inside the charge's transaction."""
    keys = {}
    for candidate in candidates:
        keys.setdefault(candidate.key.pk, candidate.key)
    thresholds = {
        key.account_id: Thresholds.of(key.alert_credits, key.alert_payg_cap, key.alert_key_budget)
        for key in keys.values()
    }
    charged_periods = []
    period_ids = {}
    for running in periods:
        period = running.period
        period_ids[(period.account_id, period.month)] = period.pk
        payg = payg_now.get(period.account_id)
        charged_periods.append(
            ChargedPeriod(
                period_id=period.pk,
                account_id=period.account_id,
                month=period.month,
                included=period.included_credits,
                consumed=(period.consumed, running.credits.consumed),
                overage=(period.overage, running.overage.total),
                thresholds=thresholds[period.account_id],
                payg_cap=payg[2] if payg is not None else None,
            )
        )
    charged_keys = [
        ChargedKey(
            api_key_id=spend.row.api_key_id,
            period_id=period_ids.get((keys[spend.row.api_key_id].account_id, spend.row.month)),
            budget=spend.row.budget,
            charged=(spend.row.charged, spend.budget.charged),
        )
        for spend in spends
    ]
    alerts_after_charge(periods=charged_periods, keys=charged_keys, today=Month.current())
