"""French formatting of money, dates and quantities: the one place every page, PDF, e-mail and
API string takes its wording from. Independent of the active locale (workers have none), except
`amount`, which follows Django's French number format as the public pages always have.

It sits below every app (catalog, accounts and billing all use it) and imports none of them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.utils import formats

# The billing calendar's zone (billing.periods.BILLING_TZ is this one): dates are written as
# the month boundaries fall.
ALGIERS = ZoneInfo("Africa/Algiers")
NBSP = "\u00a0"
CENT = Decimal("0.01")
MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

# Money


def format_money(amount: Decimal | int) -> str:
    """« 1 190,40 »: rounded to the centime half up (display only), no-break spaces between
    thousands, comma before the centimes."""
    rounded = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # never « -0,00 »
    return f"{rounded:,.2f}".replace(",", NBSP).replace(".", ",")


def format_dzd(amount: Decimal | int) -> str:
    """« 1 190,40 DZD »."""
    return f"{format_money(amount)}{NBSP}DZD"


# Quantities


def format_integer(value: int) -> str:
    """« 1 200 000 » (no-break spaces between thousands)."""
    return f"{value:,}".replace(",", NBSP)


def format_amount(value: Decimal | int) -> str:
    """« 1 000 » · « 0,125 » · « 312,5 » · « 250 » (not 250,0000): every significant digit,
    none more."""
    number = Decimal(value).normalize()
    places = max(0, -number.as_tuple().exponent)
    return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


def format_percent(value: Decimal | int) -> str:
    """« 19 % », « 9,5 % »."""
    return f"{format_amount(value)}{NBSP}%"


# Dates


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ALGIERS)


def month_label(month) -> str:
    """« novembre 2026 » (a date, or anything with `year` and `month`, such as billing's Month)."""
    return f"{MONTHS_FR[month.month - 1]} {month.year}"


def day_label(day: date) -> str:
    """« 1er », « 2 »… as French dates write the day."""
    return "1er" if day.day == 1 else str(day.day)


def date_label(moment: date | datetime) -> str:
    """« 1er décembre 2026 »; an instant is taken in Algiers time."""
    day = _local(moment).date() if isinstance(moment, datetime) else moment
    return f"{day_label(day)} {month_label(day)}"


def _time_label(local: datetime) -> str:
    return f"{local.hour}{NBSP}h{NBSP}{local.minute:02d}"


def datetime_label(moment: datetime) -> str:
    """« 16 novembre 2026 à 10 h 05 » in Algiers time."""
    local = _local(moment)
    return f"{date_label(local.date())} à {_time_label(local)}"


def instant_label(moment: datetime) -> str:
    """« 1er janvier 2027 », with the time when it is not midnight in Algiers (price dates)."""
    local = _local(moment)
    text = date_label(local.date())
    if (local.hour, local.minute) != (0, 0):
        text += f" à {_time_label(local)}"
    return text
