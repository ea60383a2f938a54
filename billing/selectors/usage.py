"""Usage reads that the API, the espace client and the admin share: every figure aggregates
the daily rollups (UsageDaily), never raw events (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet, Sum

from accounts.models import Account, ApiKey
from catalog.models import AIModel

from ..models import BillingPeriod, UsageDaily
from ..money import ZERO, round_money
from ..periods import Month

# Every usage read aggregates the daily rollups (UsageDaily), never raw events: its cost depends
# on the days, models and keys shown, not on how many events the account sent.
TOTALS = {
    "calls": Sum("events"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "images": Sum("images"),
    "cost": Sum("cost"),
    "credits": Sum("credits"),
    "prepaid": Sum("prepaid"),
    "overage": Sum("overage"),
    "written_off": Sum("written_off"),
}
# Billing has no data before 2000; far-future dates would overflow date arithmetic.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)
MAX_USAGE_DAYS = 366
AMOUNTS = ("cost", "credits", "prepaid", "overage", "written_off")


def usage_days(
    *,
    account: Account,
    start: date,
    end: date,
    model: AIModel | None = None,
    api_key: ApiKey | None = None,
) -> QuerySet[UsageDaily]:
    """The account's rollup rows from `start` to `end` included (days in Africa/Algiers).

    Filters by ids (resolved by the caller) so that the query stays on the unique index
    (account, day, model, api_key)."""
    rows = UsageDaily.objects.filter(account=account, day__gte=start, day__lte=end)
    if model is not None:
        rows = rows.filter(model_id=model.pk)
    if api_key is not None:
        rows = rows.filter(api_key_id=api_key.pk)
    return rows


def _clean(row: dict) -> dict:
    for name in ("input_tokens", "output_tokens", "images", "calls"):
        row[name] = row[name] or 0
    for name in AMOUNTS:
        row[name] = row[name] if row[name] is not None else ZERO
    return row


def _grouped(rows: QuerySet[UsageDaily], names: dict[str, str], order: tuple[str, ...]):
    """The TOTALS of `rows` per value of the `names` lookups, each also under its short name."""
    grouped = rows.order_by().values(*names).annotate(**TOTALS).order_by(*order)
    return [
        _clean({**row, **{short: row[lookup] for lookup, short in names.items()}})
        for row in grouped
    ]


def usage_per_day_and_model(rows: QuerySet[UsageDaily]) -> list[dict]:
    """One row per local day and model, oldest first: counts and where the cost went."""
    return _grouped(rows, {"day": "day", "model__slug": "model"}, ("day", "model__slug"))


def usage_per_model(rows: QuerySet[UsageDaily]) -> list[dict]:
    names = {"model__slug": "model", "model__name": "name", "model__kind": "kind"}
    return _grouped(rows, names, ("-cost", "model__slug"))


def usage_per_key(rows: QuerySet[UsageDaily]) -> list[dict]:
    names = {
        "api_key_id": "api_key_id",
        "api_key__prefix": "prefix",
        "api_key__name": "name",
        "api_key__revoked_at": "revoked_at",
    }
    return _grouped(rows, names, ("-cost", "api_key__prefix"))


def usage_totals(rows: QuerySet[UsageDaily]) -> dict:
    return _clean(rows.order_by().aggregate(**TOTALS))


def _sum_rows(rows: list[dict]) -> dict:
    """The totals of per-model rows (exact sums, no further query)."""
    return {
        name: sum((row[name] for row in rows), ZERO if name in AMOUNTS else 0) for name in TOTALS
    }


@dataclass(frozen=True)
class UsageFilters:
    """What the consommation page, its export and GET /api/v1/usage/ narrow usage by."""

    start: date
    end: date
    model: AIModel | None = None
    api_key: ApiKey | None = None

    def rows(self, *, account: Account) -> QuerySet[UsageDaily]:
        return usage_days(
            account=account,
            start=self.start,
            end=self.end,
            model=self.model,
            api_key=self.api_key,
        )


@dataclass(frozen=True)
class MonthUsage:
    """A range (by default a month) of one account's usage, for the espace client."""

    month: Month
    period: BillingPeriod | None
    per_model: list[dict]
    per_key: list[dict]
    per_day: list[dict]
    totals: dict

    @property
    def total_cost(self) -> Decimal:
        """The displayed total: each model's cost rounded to the centime, then summed, as the
        invoice totals its rounded lines (so the per-model rows add up to it)."""
        return sum((round_money(row["cost"]) for row in self.per_model), ZERO)


def month_usage(
    *, account: Account, month: Month, filters: UsageFilters | None = None
) -> MonthUsage:
    if filters is None:
        filters = UsageFilters(start=month.first_day, end=month.last_day)
    rows = filters.rows(account=account)
    per_model = usage_per_model(rows)
    return MonthUsage(
        month=month,
        period=BillingPeriod.objects.filter(account=account, month=month.first_day).first(),
        per_model=per_model,
        per_key=usage_per_key(rows),
        per_day=usage_per_day_and_model(rows),
        totals=_sum_rows(per_model),
    )


USAGE_CSV_HEADER = [
    "Jour",
    "Modèle",
    "Clé API",
    "Nom de la clé",
    "Appels",
    "Tokens entrée",
    "Tokens sortie",
    "Images",
    "Coût (DZD HT)",
    "Sur les crédits (DZD)",
    "Sur le solde prépayé (DZD)",
    "Dépassement (DZD)",
    "Non facturé (DZD)",
]


def usage_export_rows(rows: QuerySet[UsageDaily], *, chunk_size: int = 2000) -> Iterator[tuple]:
    """The rollup rows, one per day, model and key, oldest first, read in chunks (a server-side
    cursor on PostgreSQL): memory stays flat whatever the range."""
    return (
        rows.order_by("day", "model__slug", "api_key__prefix")
        .values_list(
            "day",
            "model__slug",
            "api_key__prefix",
            "api_key__name",
            "events",
            "input_tokens",
            "output_tokens",
            "images",
            *AMOUNTS,
        )
        .iterator(chunk_size=chunk_size)
    )


def usage_months(*, account: Account) -> list[Month]:
    """Months the account has a period for, newest first (the current one always)."""
    months = {
        Month.of(day)
        for day in BillingPeriod.objects.filter(account=account).values_list("month", flat=True)
    }
    months.add(Month.current())
    return sorted(months, reverse=True)
