"""Money, dates and quantities as each language writes them: the one place every page, PDF,
e-mail and API string takes its wording from (issue 15, Languages).

The language is the active one (`django.utils.translation`): a request's (LocaleMiddleware and
User.language), or `translation.override(...)` around an e-mail or a PDF. Where none is active
(workers, management commands) it is settings.LANGUAGE_CODE, French. French output is « 1 190,40
DZD », « 1er décembre 2026 »; Arabic « 1.190,40 د.ج », « 1 ديسمبر 2026 » (Western digits and
Django's `ar` separators, Algerian month names); English « 1,190.40 DZD », « 1 December 2026 ».

It sits below every app (catalog, accounts and billing all use it) and imports none of them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext_noop

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
# The names Algeria uses (from the French), not the Levantine or Egyptian ones.
MONTHS_AR = (
    "جانفي",
    "فيفري",
    "مارس",
    "أفريل",
    "ماي",
    "جوان",
    "جويلية",
    "أوت",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS = {"fr": MONTHS_FR, "ar": MONTHS_AR, "en": MONTHS_EN}
# Django's own month names (`{{ day|date:"F" }}`): our catalog (locale/ar) gives them Algeria's
# names too, so both ways of writing a month agree.
DJANGO_MONTHS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)
# (thousands separator, decimal separator): Django's formats for ar and en.
SEPARATORS = {"fr": (NBSP, ","), "ar": (".", ","), "en": (",", ".")}
CURRENCY = {"fr": "DZD", "ar": "د.ج", "en": "DZD"}
# Between a date and its time: « 16 novembre 2026 à 10 h 05 ».
AT = {"fr": " à ", "ar": "، الساعة ", "en": " at "}


def language() -> str:
    """The active language among settings.LANGUAGES ("fr", "ar", "en"), French otherwise."""
    code = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0].lower()
    return code if code in MONTHS else "fr"


# Money


def format_money(amount: Decimal | int) -> str:
    """« 1 190,40 » (fr), « 1.190,40 » (ar), « 1,190.40 » (en): rounded to the centime half up
    (display only), the language's separators (no-break spaces between thousands in French)."""
    rounded = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # never « -0,00 »
    return _separate(f"{rounded:,.2f}")


def _separate(text: str) -> str:
    """Python's « 1,190.40 » with the active language's separators."""
    thousands, decimal = SEPARATORS[language()]
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def currency() -> str:
    """« DZD », « د.ج » in Arabic (issue 15)."""
    return CURRENCY[language()]


def format_dzd(amount: Decimal | int) -> str:
    """« 1 190,40 DZD » · « 1.190,40 د.ج » · « 1,190.40 DZD »."""
    return f"{format_money(amount)}{NBSP}{currency()}"


# Quantities


def format_integer(value: int) -> str:
    """« 1 200 000 » (no-break spaces between thousands), « 1.200.000 » (ar), « 1,200,000 »."""
    return _separate(f"{value:,}")


def format_amount(value: Decimal | int) -> str:
    """« 1 000 » · « 0,125 » · « 312,5 » · « 250 » (not 250,0000): every significant digit,
    none more."""
    number = Decimal(value).normalize()
    places = max(0, -number.as_tuple().exponent)
    return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


def format_percent(value: Decimal | int) -> str:
    """« 19 % », « 9,5 % »; « 19% » in English and Arabic."""
    space = NBSP if language() == "fr" else ""
    return f"{format_amount(value)}{space}%"


# Dates


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ALGIERS)


def month_label(month) -> str:
    """« novembre 2026 », « نوفمبر 2026 », « November 2026 » (a date, or anything with `year` and
    `month`, such as billing's Month)."""
    return f"{MONTHS[language()][month.month - 1]} {month.year}"


def day_label(day: date) -> str:
    """« 1er », « 2 »… as French dates write the day; « 1 » in Arabic and English."""
    return "1er" if day.day == 1 and language() == "fr" else str(day.day)


def date_label(moment: date | datetime) -> str:
    """« 1er décembre 2026 »; an instant is taken in Algiers time."""
    day = _local(moment).date() if isinstance(moment, datetime) else moment
    return f"{day_label(day)} {month_label(day)}"


def _time_label(local: datetime) -> str:
    if language() == "fr":
        return f"{local.hour}{NBSP}h{NBSP}{local.minute:02d}"
    return f"{local.hour:02d}:{local.minute:02d}"


def datetime_label(moment: datetime) -> str:
    """« 16 novembre 2026 à 10 h 05 » · « 16 نوفمبر 2026، الساعة 10:05 » · « 16 November 2026 at
    10:05 », in Algiers time."""
    local = _local(moment)
    return f"{date_label(local.date())}{AT[language()]}{_time_label(local)}"


def instant_label(moment: datetime) -> str:
    """« 1er janvier 2027 », with the time when it is not midnight in Algiers (price dates)."""
    local = _local(moment)
    text = date_label(local.date())
    if (local.hour, local.minute) != (0, 0):
        text += f"{AT[language()]}{_time_label(local)}"
    return text
