"""French formatting for the espace client: amounts in DZD to the centime, dates with « 1er »."""

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils import timezone

from billing.money import format_money
from billing.periods import date_label

register = template.Library()

NBSP = "\u00a0"


@register.filter
def money(value: Decimal | int | None) -> str:
    """1 000,00 — two decimals, grouped, rounded half up for display only."""
    if value is None or value == "":
        return ""
    return format_money(Decimal(value))


@register.filter
def dzd(value: Decimal | int | None) -> str:
    """1 000,00 DZD"""
    if value is None or value == "":
        return ""
    return f"{money(value)}{NBSP}DZD"


@register.filter
def date_fr(value: date | datetime | None) -> str:
    """« 1er décembre 2026 » (a datetime is taken in local time)."""
    if value is None:
        return ""
    return date_label(value)


@register.filter
def datetime_fr(value: datetime | None) -> str:
    """« 16 novembre 2026 à 10 h 05 » in local time."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{date_fr(local.date())} à {local.hour}{NBSP}h{NBSP}{local.minute:02d}"
