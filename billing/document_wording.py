"""The words of an invoice or a credit note in the reader's language (issue 15, Languages).

French is the language invoices are issued in: their lines keep the French wording written at
issue (billing/services/invoices.py), and the French documents stay exactly as they were. In
Arabic and English the same facts are worded by gettext under `translation.override(language)`;
a line is reworded only when its stored French text is exactly what the French wording
functions give for its fields, otherwise (a plan renamed since, a wording changed) it is printed
as issued, in French: never a translation that could say something else than the invoice.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from num2words import num2words

from iafactory.formatting import format_integer, month_label

from .models import InvoiceLine
from .services import invoices as french
from .services.recharges import RECHARGE_LINE

LANGUAGES = ("fr", "ar", "en")
# Arabic noun forms after a number: singular (0, 1, 100…), dual, plural (3-10), accusative (11-99).
_AR_DINAR = ("دينار جزائري", "ديناران جزائريان", "دنانير جزائرية", "دينارًا جزائريًا")
_AR_CENTIME = ("سنتيم", "سنتيمان", "سنتيمات", "سنتيمًا")


def document_language(language: str | None = None) -> str:
    """'fr', 'ar' or 'en' for a Django language code ('ar-dz' → 'ar'; None: the active one);
    any other language gets the French document."""
    code = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    base = code.split("-")[0].split("_")[0]
    return base if base in LANGUAGES else "fr"


def currency() -> str:
    """« DZD », « د.ج » in Arabic (the shared i18n decision for issue 15)."""
    return _("DZD")


# Amounts in words


def _ar_cardinal(number: int) -> str:
    # num2words writes « ألف و خمسمائة »: the conjunction و is joined to the next word.
    return num2words(number, lang="ar").replace(" و ", " و")


def _ar_counted(number: int, forms: tuple[str, str, str, str]) -> str:
    singular, dual, plural, accusative = forms
    if number == 1:
        return f"{singular} واحد"
    if number == 2:
        return dual
    rest = number % 100
    if 3 <= rest <= 10:
        noun = plural
    elif 11 <= rest <= 99:
        noun = accusative
    else:
        noun = singular
    return f"{_ar_cardinal(number)} {noun}"


def _en_counted(number: int, singular: str, plural: str) -> str:
    return f"{num2words(number, lang='en')} {singular if number == 1 else plural}"


def amount_in_words(amount: Decimal, language: str) -> str:
    """The amount in words in `language`: « ألف وخمسمائة وسبعة وثمانون دينارًا جزائريًا
    واثنان وخمسون سنتيمًا », « one thousand, five hundred and eighty-seven Algerian dinars and
    fifty-two centimes », or the French of billing.services.invoices.amount_in_words."""
    dinars = int(amount)
    centimes = int((amount - dinars) * 100)
    if language == "ar":
        words = _ar_counted(dinars, _AR_DINAR) if dinars else f"صفر {_AR_DINAR[0]}"
        if centimes:
            words += f" و{_ar_counted(centimes, _AR_CENTIME)}"
        return words
    if language == "en":
        words = _en_counted(dinars, "Algerian dinar", "Algerian dinars")
        if centimes:
            words += f" and {_en_counted(centimes, 'centime', 'centimes')}"
        return words
    return french.amount_in_words(amount)


# Lines


def _quantity(line: InvoiceLine) -> str:
    if line.kind == InvoiceLine.Kind.FEE:
        days = line.days or 0
        return ngettext("%(count)s jour", "%(count)s jours", days) % {"count": days}
    if line.images is not None:
        return ngettext("%(count)s image", "%(count)s images", line.images) % {
            "count": format_integer(line.images)
        }
    return "{}\n{}".format(
        _("%(count)s tokens entrée") % {"count": format_integer(line.input_tokens or 0)},
        _("%(count)s tokens sortie") % {"count": format_integer(line.output_tokens or 0)},
    )


def line_quantity(line: InvoiceLine, language: str) -> str:
    """The quantity column of a line in `language` (the French one when it cannot be said)."""
    as_issued = french.line_quantity(line)
    if language == "fr":
        return as_issued
    with translation.override("fr"):
        same_facts = _quantity(line) == as_issued
    if not same_facts:
        return as_issued
    with translation.override(language):
        return _quantity(line)


def fee_first_days(month: date, lines: Iterable[InvoiceLine]) -> dict[int, date]:
    """The first day of each fee line (by position): fee lines follow each other to the
    month's end (an upgrade starts the next one, a downgrade waits for the 1st)."""
    fees = [line for line in lines if line.kind == InvoiceLine.Kind.FEE and line.days]
    end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    firsts: dict[int, date] = {}
    for line in reversed(fees):
        first = end - timedelta(days=line.days - 1)
        firsts[line.position] = first
        end = first - timedelta(days=1)
    return firsts


def _fee_description(plan: str, first_day: date, days: int) -> str:
    last_day = first_day + timedelta(days=days - 1)
    span = ngettext("%(count)s jour", "%(count)s jours", days) % {"count": days}
    if days == 1:
        return _("Formule %(plan)s — %(day)s %(month)s (%(span)s)") % {
            "plan": plan,
            "day": first_day.day,
            "month": month_label(first_day),
            "span": span,
        }
    return _("Formule %(plan)s — %(first)s au %(last)s %(month)s (%(span)s)") % {
        "plan": plan,
        "first": first_day.day,
        "last": last_day.day,
        "month": month_label(first_day),
        "span": span,
    }


def _strip(text: str, prefix: str, suffix: str = "") -> str | None:
    if text.startswith(prefix) and text.endswith(suffix) and len(text) > len(prefix + suffix):
        return text[len(prefix) : len(text) - len(suffix)]
    return None


def line_description(line: InvoiceLine, language: str, *, first_day: date | None = None) -> str:
    """A line's designation in `language`; `first_day` is a fee line's (fee_first_days)."""
    text = line.description
    if language == "fr":
        return text
    with translation.override(language):
        if line.kind == InvoiceLine.Kind.FEE and line.days and first_day is not None:
            with translation.override("fr"):
                issued = french.fee_line_description(
                    plan_name="\x00", first_day=first_day, days=line.days
                )
            prefix, suffix = issued.split("\x00")
            plan = _strip(text, prefix, suffix)
            if plan is not None:
                return _fee_description(plan, first_day, line.days)
        if line.kind == InvoiceLine.Kind.OVERAGE and line.model_id:
            model = _strip(text, french.overage_line_description(model_name=""))
            if model is not None and model == line.model.name:
                return _("Consommation au-delà des crédits — %(model)s") % {"model": model}
        if line.kind == InvoiceLine.Kind.RECHARGE:
            reference = _strip(text, f"{RECHARGE_LINE} (", ")")
            if reference is not None:
                return _("Recharge de crédits (%(reference)s)") % {"reference": reference}
    return text
