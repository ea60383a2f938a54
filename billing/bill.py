"""A period's invoice, drafted by one function: the close issues it; the dashboard and
``GET /api/v1/account/`` show the current month's as « la facture en cours ». The estimate is
the invoice: same fee lines (prorated, as stored on the period), same overage per model (read
from the daily rollups), same rounding, same TVA.

``bill_draft`` is pure arithmetic (no database); ``bills_load`` reads what it needs for a
chunk of periods in a constant number of queries, never the raw events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from accounts.models import Account
from catalog.models import AIModel, Plan

from .models import BillingPeriod, BillingSettings, PeriodFee, UsageDaily
from .money import ZERO, round_money
from .periods import Month
from .services.invoices import (
    fee_line_description,
    line_quantity,
    overage_line_description,
    tva_label,
)

HUNDRED = Decimal(100)
FEE = "fee"
OVERAGE = "overage"


@dataclass(frozen=True)
class FeeUse:
    """A formula held during part of the period (a PeriodFee row)."""

    plan_id: int
    plan_name: str
    first_day: date
    days: int
    amount: Decimal


@dataclass(frozen=True)
class OverageUse:
    """A model's overage in the period: exact amount, and the counts of its events with some."""

    model_id: int
    model_name: str
    is_text: bool
    rank: int  # catalog order: text models first, then images
    overage: Decimal
    input_tokens: int
    output_tokens: int
    images: int


@dataclass(frozen=True)
class BillLine:
    kind: str  # FEE or OVERAGE, as InvoiceLine.Kind
    description: str
    amount: Decimal  # HT, rounded to the centime
    plan_id: int | None = None
    model_id: int | None = None
    days: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    images: int | None = None

    @property
    def quantity(self) -> str:
        """As the invoice prints it: « 30 jours », « 12 images », tokens in and out."""
        return line_quantity(self)


@dataclass(frozen=True)
class Bill:
    lines: tuple[BillLine, ...]
    ht: Decimal
    tva_rate: Decimal
    tva: Decimal
    ttc: Decimal

    @property
    def tva_label(self) -> str:
        return tva_label(self.tva_rate)


def bill_draft(
    *, fees: Iterable[FeeUse], overages: Iterable[OverageUse], tva_rate: Decimal
) -> Bill:
    """The invoice of a period: fee lines by first day, then overage per model in catalog
    order; each line rounded half up to the centime, HT the sum of the lines, TVA rounded once
    on HT, TTC = HT + TVA."""
    lines = [
        BillLine(
            kind=FEE,
            description=fee_line_description(
                plan_name=fee.plan_name, first_day=fee.first_day, days=fee.days
            ),
            amount=round_money(fee.amount),
            plan_id=fee.plan_id,
            days=fee.days,
        )
        for fee in sorted(fees, key=lambda fee: fee.first_day)
    ]
    lines += [
        BillLine(
            kind=OVERAGE,
            description=overage_line_description(model_name=use.model_name),
            amount=round_money(use.overage),
            model_id=use.model_id,
            input_tokens=use.input_tokens if use.is_text else None,
            output_tokens=use.output_tokens if use.is_text else None,
            images=None if use.is_text else use.images,
        )
        for use in sorted(overages, key=lambda use: use.rank)
        if use.overage > ZERO
    ]
    ht = sum((line.amount for line in lines), ZERO)
    tva = round_money(ht * tva_rate / HUNDRED)
    return Bill(lines=tuple(lines), ht=ht, tva_rate=tva_rate, tva=tva, ttc=ht + tva)


def tva_rate_for(*, exempt: bool, rate: Decimal) -> Decimal:
    return ZERO if exempt else rate


@dataclass
class BillCatalog:
    """The formulas and models, read once per close (or per page)."""

    plans: dict[int, Plan]
    models: dict[int, AIModel]
    model_rank: dict[int, int]

    @classmethod
    def load(cls) -> BillCatalog:
        # Text models first, then images, each in catalog order.
        models = sorted(
            AIModel.objects.all(),
            key=lambda model: (model.kind != AIModel.Kind.TEXT, model.order, model.slug),
        )
        return cls(
            plans={plan.pk: plan for plan in Plan.objects.all()},
            models={model.pk: model for model in models},
            model_rank={model.pk: rank for rank, model in enumerate(models)},
        )


def bills_load(
    *,
    periods: Iterable[tuple[int, int]],
    month: Month,
    tva_rates: dict[int, Decimal],
    catalog: BillCatalog,
) -> dict[int, Bill]:
    """The bills of (period id, account id) pairs of `month`, by period id: two queries (the
    fees, the rollups' overage bounded by the month's days), whatever the number of events."""
    periods = list(periods)
    period_of = {account_id: period_id for period_id, account_id in periods}
    fees: dict[int, list[FeeUse]] = defaultdict(list)
    for period_id, plan_id, first_day, days, amount in PeriodFee.objects.filter(
        period_id__in=list(period_of.values())
    ).values_list("period_id", "plan_id", "first_day", "days", "amount"):
        plan_name = catalog.plans[plan_id].name
        fees[period_id].append(FeeUse(plan_id, plan_name, first_day, days, amount))

    overages: dict[int, list[OverageUse]] = defaultdict(list)
    for row in (
        UsageDaily.objects.filter(
            account_id__in=list(period_of),
            day__gte=month.first_day,
            day__lte=month.last_day,
            overage__gt=0,
        )
        .values("account_id", "model_id")
        .annotate(
            total=Sum("overage"),
            input_tokens=Sum("overage_input_tokens"),
            output_tokens=Sum("overage_output_tokens"),
            images=Sum("overage_images"),
        )
        .order_by()
    ):
        model = catalog.models[row["model_id"]]
        overages[period_of[row["account_id"]]].append(
            OverageUse(
                model_id=model.pk,
                model_name=model.name,
                is_text=model.kind == AIModel.Kind.TEXT,
                rank=catalog.model_rank[model.pk],
                overage=row["total"],
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                images=row["images"],
            )
        )
    return {
        period_id: bill_draft(
            fees=fees[period_id], overages=overages[period_id], tva_rate=tva_rates[account_id]
        )
        for period_id, account_id in periods
    }


def bill_so_far(*, period: BillingPeriod) -> Bill:
    """What the close would invoice for this period if the month ended now."""
    exempt = Account.objects.filter(pk=period.account_id).values_list("tva_exempt", flat=True)
    rate = tva_rate_for(exempt=exempt.get(), rate=BillingSettings.load().tva_rate)
    bills = bills_load(
        periods=[(period.pk, period.account_id)],
        month=Month.of(period.month),
        tva_rates={period.account_id: rate},
        catalog=BillCatalog.load(),
    )
    return bills[period.pk]
