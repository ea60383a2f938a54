"""French formatting of catalog figures: exact amounts, dates with « 1er », FAQ answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from billing.periods import date_label

register = template.Library()

DOCS_LINK_TEXT = "Documentation API → Models & Pricing"


@register.filter
def amount(value: Decimal | int | None) -> str:
    """1 000 · 0,125 · 312,5 · 250 (not 250,0000): every significant digit, none more."""
    if value is None or value == "":
        return ""
    number = Decimal(value).normalize()
    places = max(0, -number.as_tuple().exponent)
    return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def percent(value: Decimal | int) -> str:
    return f"{amount(value)}\u00a0%"


@register.filter
def date_fr(value: datetime) -> str:
    """« 1er janvier 2027 », with the time when it is not midnight in Algiers."""
    local = timezone.localtime(value)
    text = date_label(local)
    if (local.hour, local.minute) != (0, 0):
        text += f" à {local.hour}\u00a0h\u00a0{local.minute:02d}"
    return text


def faq_answer_html(answer: str, *, tva_rate: Decimal, notice_days: int, docs_url: str) -> str:
    """Escape the staff-written answer, fill its placeholders, keep lines and « - » bullets."""
    replacements = {
        "{taux_tva}": escape(percent(tva_rate)),
        "{preavis_jours}": escape(str(notice_days)),
        "{lien_documentation}": format_html('<a href="{}">{}</a>', docs_url, DOCS_LINK_TEXT),
    }

    def line_html(line: str) -> str:
        text = escape(line)
        for placeholder, html in replacements.items():
            text = text.replace(placeholder, html)
        return text

    blocks: list[str] = []
    bullets: list[str] = []
    for raw in answer.splitlines():
        line = raw.strip()
        if line.startswith("- "):
            bullets.append(f"<li>{line_html(line[2:].strip())}</li>")
            continue
        if bullets:
            blocks.append(f"<ul>{''.join(bullets)}</ul>")
            bullets = []
        if line:
            blocks.append(f"<p>{line_html(line)}</p>")
    if bullets:
        blocks.append(f"<ul>{''.join(bullets)}</ul>")
    return mark_safe("".join(blocks))  # noqa: S308 - every piece of text was escaped above


@register.simple_tag
def faq_answer(answer: str, catalog) -> SafeString:
    return faq_answer_html(
        answer,
        tva_rate=catalog.tva_rate,
        notice_days=catalog.price_notice_days,
        docs_url=reverse("catalog:api_docs"),
    )
