"""Daily cost by model as stacked bars, drawn server-side as SVG geometry (no JS, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from iafactory.formatting import format_amount, format_money

from .money import ZERO
from .periods import Month

# Colour-blind-friendly palette (Okabe–Ito), one colour per model in order of cost.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # title tooltip: day, model, cost


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Series:
    model: str
    colour: str
    total: Decimal


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right_edge: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    days: list[DayLabel]
    series: list[Series]
    maximum: Decimal

    @property
    def is_empty(self) -> bool:
        return not self.bars


def _nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 × 10^n at or above value (the axis top)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (1, 2, 5, 10):
        candidate = Decimal(step).scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover (10 × 10^n always fits)


def _amount_label(value: Decimal) -> str:
    """French axis label: "1 250", "12,5", "0"."""
    return format_amount(value)


def _money_label(value: Decimal) -> str:
    return format_money(value)


def _day_label(start: date, offset: int) -> str:
    day = start + timedelta(days=offset)
    return str(day.day) if day.day != 1 or offset == 0 else f"{day:%d/%m}"


def daily_cost_chart(
    *, month: Month | None = None, rows: list[dict], start: date | None = None, days: int = 0
) -> Chart:
    """`rows`: usage_per_day_and_model rows (day, model, cost) of the month, or of the `days`
    days from `start` (a range chosen with the page's filters)."""
    if month is not None:
        start, days = month.first_day, month.days
    if start is None or days <= 0:
        raise ValueError("daily_cost_chart needs a month or a start and a number of days")
    totals: dict[str, Decimal] = {}
    per_day: dict[date, dict[str, Decimal]] = {}
    for row in rows:
        totals[row["model"]] = totals.get(row["model"], ZERO) + row["cost"]
        per_day.setdefault(row["day"], {})[row["model"]] = row["cost"]
    order = sorted(totals, key=lambda model: (-totals[model], model))
    colours = {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(order)}
    day_max = max((sum(costs.values(), ZERO) for costs in per_day.values()), default=ZERO)
    top = _nice_ceiling(day_max)
    slot = PLOT_W / days
    bar_width = max(slot * 0.7, 1.0)
    baseline = TOP + PLOT_H

    bars = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        y = Decimal(baseline)  # geometry in Decimal too: costs never pass through float
        for model in order:
            cost = per_day.get(day, {}).get(model)
            if not cost:
                continue
            height = cost / top * PLOT_H
            y -= height
            bars.append(
                Bar(
                    x=round(LEFT + offset * slot + (slot - bar_width) / 2, 2),
                    y=round(y, 2),
                    width=round(bar_width, 2),
                    height=round(max(height, Decimal("0.5")), 2),
                    colour=colours[model],
                    label=_("%(day)s — %(model)s : %(cost)s DZD")
                    % {"day": f"{day:%d/%m}", "model": model, "cost": _money_label(cost)},
                )
            )
    ticks = [
        Tick(y=round(baseline - PLOT_H * i / 4, 2), label=_amount_label(top * i / 4))
        for i in range(5)
    ]
    every = max(5, round(days / 6 / 5) * 5)  # about six labels, whatever the range
    labels = [
        DayLabel(x=round(LEFT + offset * slot + slot / 2, 2), label=_day_label(start, offset))
        for offset in range(days)
        if offset == 0 or (offset + 1) % every == 0
    ]
    series = [Series(model, colours[model], totals[model]) for model in order]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        baseline=baseline,
        bars=bars,
        ticks=ticks,
        days=labels,
        series=series,
        maximum=top,
    )
