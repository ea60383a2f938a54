"""The `formatting` template library (`{% load formatting %}`), registered in settings.TEMPLATES:
the filters of iafactory.formatting for pages, PDFs and e-mails, in the active language (the
`_fr` names date from when French was the only one). Empty values render as ""."""

from __future__ import annotations

from django import template

from . import formatting

register = template.Library()


def _blank(value) -> bool:
    return value is None or value == ""


@register.filter
def money(value) -> str:
    """1 000,00"""
    return "" if _blank(value) else formatting.format_money(value)


@register.filter
def dzd(value) -> str:
    """1 000,00 DZD · 1.000,00 د.ج (ar) · 1,000.00 DZD (en)"""
    return "" if _blank(value) else formatting.format_dzd(value)


@register.filter
def absolute(value):
    """The amount without its sign (a negative balance due shown as what is owed back)."""
    return value if _blank(value) else abs(value)


@register.filter
def integer(value) -> str:
    """1 200 000"""
    return "" if _blank(value) else formatting.format_integer(int(value))


@register.filter
def amount(value) -> str:
    """1 000 · 0,125 · 312,5: every significant digit."""
    return "" if _blank(value) else formatting.format_amount(value)


@register.filter
def percent(value) -> str:
    return "" if _blank(value) else formatting.format_percent(value)


@register.filter
def date_fr(value) -> str:
    """« 1er décembre 2026 » (a datetime is taken in Algiers time)."""
    return "" if _blank(value) else formatting.date_label(value)


@register.filter
def datetime_fr(value) -> str:
    """« 16 novembre 2026 à 10 h 05 »."""
    return "" if _blank(value) else formatting.datetime_label(value)


@register.filter
def instant_fr(value) -> str:
    """« 1er janvier 2027 », plus « à 14 h 30 » when not midnight."""
    return "" if _blank(value) else formatting.instant_label(value)


@register.filter
def month_fr(value) -> str:
    """« novembre 2026 »."""
    return "" if _blank(value) else formatting.month_label(value)
