"""Whether pay-as-you-go was on at each event's instant, from the accounts' recorded switches."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from ..models import PayAsYouGoChange
from .parse import Candidate
from .rows import PaygNow


class PaygHistory:
    """Whether pay-as-you-go was on at an instant, from the account's recorded switches.

    Every account starts with it off (account_create), so an instant before the first recorded
    switch is off; an account with no switch recorded at all follows its subscription.
    """

    def __init__(self, changes: Sequence[tuple[datetime, bool]], current: bool) -> None:
        self._instants = [changed_at for changed_at, _ in changes]
        self._states = [enabled for _, enabled in changes]
        self._current = current

    def at(self, moment: datetime) -> bool:
        if not self._instants:
            return self._current
        index = bisect.bisect_right(self._instants, moment) - 1
        return self._states[index] if index >= 0 else False


def payg_histories(
    account_ids: Sequence[int], until: datetime, current: dict[int, bool]
) -> dict[int, PaygHistory]:
    """Each account's switches up to `until`; `current` is its subscription's state now."""
    changes: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
    rows = PayAsYouGoChange.objects.filter(
        account_id__in=account_ids, changed_at__lte=until
    ).order_by("account_id", "changed_at", "pk")
    for account_id, changed_at, enabled in rows.values_list("account_id", "changed_at", "enabled"):
        changes[account_id].append((changed_at, enabled))
    return {
        account_id: PaygHistory(changes.get(account_id, ()), current.get(account_id, False))
        for account_id in account_ids
    }


def payg_apply(candidates: list[Candidate]) -> None:
    """Set each candidate's pay-as-you-go, querying the switches only of the accounts that
    changed it after their earliest event (the subscription records when its state last
    changed; the services write both together)."""
    keys = {c.key.account_id: c.key for c in candidates}
    earliest: dict[int, datetime] = {}
    for c in candidates:
        account_id = c.key.account_id
        if account_id not in earliest or c.occurred_at < earliest[account_id]:
            earliest[account_id] = c.occurred_at
    histories: dict[int, PaygHistory] = {}
    need_history = []
    for account_id, key in keys.items():
        changed_at = key.pay_as_you_go_changed_at
        if changed_at is None or changed_at <= earliest[account_id]:
            histories[account_id] = PaygHistory((), key.pay_as_you_go)
        else:
            need_history.append(account_id)
    if need_history:
        histories.update(
            payg_histories(
                need_history,
                max(c.occurred_at for c in candidates),
                {pk: keys[pk].pay_as_you_go for pk in need_history},
            )
        )
    for candidate in candidates:
        candidate.pay_as_you_go = histories[candidate.key.account_id].at(candidate.occurred_at)


def payg_recheck(candidates: list[Candidate], fresh: PaygNow) -> None:
    """Under the period locks, catch a pay-as-you-go switch committed since the batch was read.

    payg_set takes the same period lock, so no switch can land between this read and the
    allocation.
    """
    used = {c.key.account_id: c.key.pay_as_you_go_changed_at for c in candidates}
    stale = [
        account_id
        for account_id, changed_at in used.items()
        if account_id in fresh and fresh[account_id][1] != changed_at
    ]
    if not stale:
        return
    histories = payg_histories(
        stale,
        max(c.occurred_at for c in candidates),
        {account_id: fresh[account_id][0] for account_id in stale},
    )
    for candidate in candidates:
        history = histories.get(candidate.key.account_id)
        if history is not None:
            candidate.pay_as_you_go = history.at(candidate.occurred_at)
