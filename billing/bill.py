"""A period's invoice, drafted by one function: the close issues it; the dashboard and
``GET /api/v1/account/`` show the current month's as « la facture en cours ». The estimate is
the invoice: same fee lines (prorated, as stored on the period), same overage lines (per model,
unit and unit price: the quantity beyond the credits, billing/overage.py, issue 15), same
rounding, same TVA.

``bill_draft`` is pure arithmetic (no database); ``bills_load`` reads what it needs for a
chunk of periods in a constant number of queries: the daily rollups, and of the raw events only
the few partly covered by the credits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from django.utils import translation

from accounts.models import Account
from catalog.models import AIModel, Plan
from catalog.pricing import PriceBook
from iafactory.formatting import day_label, month_label

from .models import BillingPeriod, BillingSettings, PeriodFee
from .money import ZERO, round_money
from .overage import (
    IMAGE,
    INPUT,
    OUTPUT,
    UNITS,
    line_amount,
    period_credits_note,
    priced_overages_load,
    unit_label,
)
from .periods import Month, local_date
from .services.invoices import (
    fee_line_description,
    line_quantity,
    line_unit_price,
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
    """A model's overage at one unit price in the period: the quantity billed beyond the
    credits (already rounded, billing/overage.py) and the first use at that price."""

    model_id: int
    model_name: str
    rank: int  # catalog order: text models first, then images
    unit: str  # overage.INPUT, OUTPUT or IMAGE
    unit_price: Decimal  # per 1 000 000 tokens, or per image
    quantity: Decimal
    first_at: datetime


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
    unit: str = ""  # overage lines: overage.INPUT, OUTPUT or IMAGE
    unit_price: Decimal | None = None
    billed_quantity: Decimal | None = None

    @property
    def quantity(self) -> str:
        """As the invoice prints it: « 30 jours », « 12 images », tokens in and out."""
        return line_quantity(self)

    @property
    def unit_price_label(self) -> str:
        return line_unit_price(self)


@dataclass(frozen=True)
class Bill:
    lines: tuple[BillLine, ...]
    ht: Decimal
    tva_rate: Decimal
    tva: Decimal
    ttc: Decimal
    note: str = ""  # under overage lines: what the credits paid, the rounding rule

    @property
    def tva_label(self) -> str:
        return tva_label(self.tva_rate)


def bill_draft(
    *, fees: Iterable[FeeUse], overages: Iterable[OverageUse], tva_rate: Decimal
) -> Bill:
    """The invoice of a period: fee lines by first day, then overage per model in catalog
    order, per unit (input, output, image) and per unit price in the order first used; each
    line rounded half up to the centime (an overage line: quantity × unit price), HT the sum
    of the lines, TVA rounded once on HT, TTC = HT + TVA."""
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
    uses = sorted(overages, key=lambda use: (use.rank, UNITS.index(use.unit), use.first_at))
    prices_per_unit = Counter((use.model_id, use.unit) for use in uses)
    lines += [
        _overage_line(use, several_prices=prices_per_unit[use.model_id, use.unit] > 1)
        for use in uses
        if use.quantity > ZERO
    ]
    ht = sum((line.amount for line in lines), ZERO)
    tva = round_money(ht * tva_rate / HUNDRED)
    return Bill(lines=tuple(lines), ht=ht, tva_rate=tva_rate, tva=tva, ttc=ht + tva)


def _overage_line(use: OverageUse, *, several_prices: bool) -> BillLine:
    description = f"{overage_line_description(model_name=use.model_name)}, {unit_label(use.unit)}"
    if several_prices:
        local = local_date(use.first_at)
        with translation.override("fr"):  # the designation as issued
            description += f" (tarif du {day_label(local)} {month_label(local)})"
    whole = int(use.quantity) if use.quantity == use.quantity.to_integral_value() else None
    return BillLine(
        kind=OVERAGE,
        description=description,
        amount=line_amount(unit=use.unit, quantity=use.quantity, unit_price=use.unit_price),
        model_id=use.model_id,
        input_tokens=whole if use.unit == INPUT else None,
        output_tokens=whole if use.unit == OUTPUT else None,
        images=whole if use.unit == IMAGE else None,
        unit=use.unit,
        unit_price=use.unit_price,
        billed_quantity=use.quantity,
    )


def tva_rate_for(*, exempt: bool, rate: Decimal) -> Decimal:
    return ZERO if exempt else rate


@dataclass
class BillCatalog:
    """The formulas and models, read once per close (or per page)."""

    plans: dict[int, Plan]
    models: dict[int, AIModel]
    model_rank: dict[int, int]
    prices: PriceBook

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
            prices=PriceBook.for_models(),
        )


def bills_load(
    *,
    periods: Iterable[tuple[int, int]],
    month: Month,
    tva_rates: dict[int, Decimal],
    catalog: BillCatalog,
) -> dict[int, Bill]:
    """The bills of (period id, account id) pairs of `month`, by period id: a constant number
    of queries (the fees, the rollups' overage counts, the month's price changes, the few
    partly covered events), whatever the number of events."""
    periods = list(periods)
    period_of = {account_id: period_id for period_id, account_id in periods}
    fees: dict[int, list[FeeUse]] = defaultdict(list)
    for period_id, plan_id, first_day, days, amount in PeriodFee.objects.filter(
        period_id__in=list(period_of.values())
    ).values_list("period_id", "plan_id", "first_day", "days", "amount"):
        plan_name = catalog.plans[plan_id].name
        fees[period_id].append(FeeUse(plan_id, plan_name, first_day, days, amount))

    overages: dict[int, list[OverageUse]] = defaultdict(list)
    priced_overages = priced_overages_load(periods=period_of, month=month, book=catalog.prices)
    for period_id, priced in priced_overages.items():
        for use in priced:
            model = catalog.models[use.model_id]
            overages[period_id].append(
                OverageUse(
                    model_id=model.pk,
                    model_name=model.name,
                    rank=catalog.model_rank[model.pk],
                    unit=use.unit,
                    unit_price=use.unit_price,
                    quantity=use.quantity,
                    first_at=use.first_at,
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
    bill = bills[period.pk]
    if any(line.kind == OVERAGE for line in bill.lines):
        bill = replace(bill, note=period_credits_note(period))
    return bill
