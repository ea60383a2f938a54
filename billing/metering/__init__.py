"""Metering: the gateway's usage events charged exactly once, and its "may this key spend?".

parse (event -> candidate or rejection, no database) -> payg (pay-as-you-go at each instant)
-> charge (under the period locks: allocation over the credit sources, insert, update) through
one ledger store (PostgreSQL or portable ORM). batch holds the retry loop.
"""

from .account import AccountState, account_state
from .allocation import Allocation, IncludedCredits, Overage, Source, allocate
from .authorization import AUTHORIZATION_MESSAGES, Authorization, may_spend, usage_authorize
from .batch import ATTEMPTS, GROUP_EVENTS, MAX_BATCH, usage_record_batch
from .charge import MAX_PERIOD_USAGE
from .ledger import Ledger, ledger_for
from .parse import CLOCK_SKEW, MAX_EVENT_COST, MAX_IDEMPOTENCY_KEY, api_key_storable, fingerprint
from .payg import PaygHistory, payg_histories
from .results import ACCEPTED, DUPLICATE, REJECTED, BatchResult, BatchTooLarge, EventResult
from .rows import EVENT_COLUMNS, EventRow

__all__ = [
    "ACCEPTED",
    "ATTEMPTS",
    "AUTHORIZATION_MESSAGES",
    "CLOCK_SKEW",
    "DUPLICATE",
    "EVENT_COLUMNS",
    "GROUP_EVENTS",
    "MAX_BATCH",
    "MAX_EVENT_COST",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_PERIOD_USAGE",
    "REJECTED",
    "AccountState",
    "Allocation",
    "Authorization",
    "BatchResult",
    "BatchTooLarge",
    "EventResult",
    "EventRow",
    "IncludedCredits",
    "Ledger",
    "Overage",
    "PaygHistory",
    "Source",
    "account_state",
    "allocate",
    "api_key_storable",
    "fingerprint",
    "ledger_for",
    "may_spend",
    "payg_histories",
    "usage_authorize",
    "usage_record_batch",
]
