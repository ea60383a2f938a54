"""The FAQ answers of the public pages: staff-written text with its placeholders filled."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from iafactory.formatting import format_percent

register = template.Library()

DOCS_LINK_TEXT = gettext_lazy("Documentation API → Models & Pricing")


def faq_answer_html(answer: str, *, tva_rate: Decimal, notice_days: int, docs_url: str) -> str:
    """Escape the staff-written answer, fill its placeholders, keep lines and « - » bullets."""
    replacements = {
        "{taux_tva}": escape(format_percent(tva_rate)),
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
