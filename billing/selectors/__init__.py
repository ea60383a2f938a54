"""Reads that views, the API and the admin share: usage (from the daily rollups) and the
account's overview, key spends and formulas."""

from .account import (
    AccountOverview,
    KeyBudget,
    account_overview,
    key_budgets,
    key_spends,
    plans_offered,
)
from .usage import (
    AMOUNTS,
    FIRST_DAY,
    LAST_DAY,
    MAX_USAGE_DAYS,
    TOTALS,
    USAGE_CSV_HEADER,
    MonthUsage,
    UsageFilters,
    month_usage,
    usage_days,
    usage_export_rows,
    usage_months,
    usage_per_day_and_model,
    usage_per_key,
    usage_per_model,
    usage_totals,
)

__all__ = [
    "AMOUNTS",
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_USAGE_DAYS",
    "TOTALS",
    "USAGE_CSV_HEADER",
    "AccountOverview",
    "KeyBudget",
    "MonthUsage",
    "UsageFilters",
    "account_overview",
    "key_budgets",
    "key_spends",
    "month_usage",
    "plans_offered",
    "usage_days",
    "usage_export_rows",
    "usage_months",
    "usage_per_day_and_model",
    "usage_per_key",
    "usage_per_model",
    "usage_totals",
]
