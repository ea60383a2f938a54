"""Pay-as-you-go and its ceiling at each event's instant, from the accounts' recorded changes."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from ..models import PayAsYouGoChange
from .parse import Candidate
from .rows import PaygNow

# (enabled, ceiling) at an instant; ceiling None: no ceiling.
PaygState = tuple[bool, Decimal | None]
OFF: PaygState = (False, None)


class PaygHistory:
    """Whether pay-as-you-go was on at an instant, and its ceiling, from the account's
    recorded changes (each row holds the state after the change).

    Every account starts with it off (account_create), so an instant before the first recorded
    change is off; an account with no change recorded at all follows its subscription.
    """

    def __init__(
        self, changes: Sequence[tuple[datetime, bool, Decimal | None]], current: PaygState
    ) -> None:
        self._instants = [changed_at for changed_at, _, _ in changes]
        self._states = [(enabled, cap) for _, enabled, cap in changes]
        self._current = current

    def state_at(self, moment: datetime) -> PaygState:
        if not self._instants:
            return self._current
        index = bisect.bisect_right(self._instants, moment) - 1
        return self._states[index] if index >= 0 else OFF

    def at(self, moment: datetime) -> bool:
        return self.state_at(moment)[0]


def payg_histories(
    account_ids: Sequence[int], until: datetime, current: dict[int, PaygState]
) -> dict[int, PaygHistory]:
    """Each account's changes up to `until`; `current` is its subscription's state now."""
    changes: dict[int, list[tuple[datetime, bool, Decimal | None]]] = defaultdict(list)
    rows = PayAsYouGoChange.objects.filter(
        account_id__in=account_ids, changed_at__lte=until
    ).order_by("account_id", "changed_at", "pk")
    for account_id, changed_at, enabled, cap in rows.values_list(
        "account_id", "changed_at", "enabled", "cap"
    ):
        changes[account_id].append((changed_at, enabled, cap))
    return {
        account_id: PaygHistory(changes.get(account_id, ()), current.get(account_id, OFF))
        for account_id in account_ids
    }


def _apply(candidates: list[Candidate], histories: dict[int, PaygHistory]) -> None:
    for candidate in candidates:
        history = histories.get(candidate.key.account_id)
        if history is not None:
            candidate.pay_as_you_go, candidate.payg_cap = history.state_at(candidate.occurred_at)


def payg_apply(candidates: list[Candidate]) -> None:
    """Set each candidate's pay-as-you-go and ceiling, querying the changes only of the accounts
    that changed them after their earliest event (the subscription records when its state last
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
            histories[account_id] = PaygHistory((), (key.pay_as_you_go, key.payg_cap))
        else:
            need_history.append(account_id)
    if need_history:
        histories.update(
            payg_histories(
                need_history,
                max(c.occurred_at for c in candidates),
                {pk: (keys[pk].pay_as_you_go, keys[pk].payg_cap) for pk in need_history},
            )
        )
    _apply(candidates, histories)


def payg_recheck(candidates: list[Candidate], fresh: PaygNow) -> None:
    """Under the period locks, catch a pay-as-you-go change committed since the batch was read.

    payg_set takes the same period lock, so no change can land between this read and the
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
        {account_id: (fresh[account_id][0], fresh[account_id][2]) for account_id in stale},
    )
    _apply(candidates, histories)
