"""The building blocks of the invoice and credit-note pages (billing/pdf.py), each laid out
left to right and mirrored when the page is Arabic (`pdf.rtl`, `pdf.at`, `pdf.align`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from iafactory.formatting import format_money

from . import document_wording as wording

if TYPE_CHECKING:
    from .pdf import InvoicePDF

INK = (20, 33, 61)
MUTED = (91, 100, 120)
BRAND = (11, 110, 79)
LIGHT = (238, 242, 247)
LINE = (200, 207, 220)
DANGER = (180, 35, 24)


def box(
    pdf: InvoicePDF,
    *,
    x: float,
    y: float,
    width: float,
    title: str,
    rows: list[tuple[str, str]],
    heading: str = "",
    text: str = "",
) -> float:
    """A titled block of label/value rows; returns its bottom (the caller draws the frame)."""
    pdf.set_xy(pdf.at(x, width), y)
    pdf.set_fill_color(*LIGHT)
    pdf.font(8, bold=True, color=MUTED)
    pdf.cell(
        width,
        6,
        f"  {title}",
        fill=True,
        align=pdf.align("L"),
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    pdf.ln(1)
    inner = width - 5
    if heading:
        pdf.set_x(pdf.at(x + 2.5, inner))
        pdf.font(10.5, bold=True)
        pdf.multi_cell(inner, 5.2, heading, align=pdf.align("J"), new_x=XPos.LEFT)
    if text:
        pdf.set_x(pdf.at(x + 2.5, inner))
        pdf.font(8.5)
        pdf.multi_cell(inner, 4.3, text, align=pdf.align("J"), new_x=XPos.LEFT)
    label_width = max(pdf.get_string_width(label) for label, _ in rows) + 8
    for label, value in rows:
        pdf.set_x(pdf.at(x + 2.5, label_width))
        pdf.font(8.5, bold=True)
        pdf.cell(label_width, 4.6, label, align=pdf.align("L"))
        pdf.set_x(pdf.at(x + 2.5 + label_width, inner - label_width))
        pdf.font(8.5)
        pdf.multi_cell(inner - label_width, 4.6, value, align=pdf.align("J"), new_x=XPos.LEFT)
    return pdf.get_y() + 2


def frames(pdf: InvoicePDF, top: float, bottom: float) -> None:
    pdf.set_draw_color(*LINE)
    pdf.rect(pdf.at(15, 85), top, 85, bottom - top)
    pdf.rect(pdf.at(110, 85), top, 85, bottom - top)


def legal_label(label: str) -> str:
    """« NIF », « رقم التعريف الجبائي (NIF) » in Arabic: the French term always shows."""
    labels = {
        "NIF": pgettext("mention légale", "NIF"),
        "NIS": pgettext("mention légale", "NIS"),
        "RC": pgettext("mention légale", "RC"),
        "Article d'imposition": pgettext("mention légale", "Article d'imposition"),
    }
    return labels.get(label, label)


def legal_ids(details: dict[str, str], labels) -> list[tuple[str, str]]:
    return [(legal_label(label), details.get(key) or "—") for label, key in labels]


def totals(pdf: InvoicePDF, rows, *, x: float, label_width: float, sign: str = "") -> None:
    """The HT / TVA / TTC boxes, the last one dark; right-aligned (left in Arabic)."""
    currency = wording.currency()
    for label, value, strong in rows:
        pdf.set_fill_color(*(INK if strong else LIGHT))
        color = (255, 255, 255) if strong else INK
        pdf.font(10 if strong else 9, bold=strong, color=color)
        amount = f"{sign}{format_money(value)} {currency}"
        if pdf.rtl:
            pdf.set_x(pdf.at(x, label_width + 40))
            pdf.cell(40, 7, f"  {amount}", fill=True, align="L")
            pdf.cell(label_width, 7, f"  {label}", fill=True, align="R", new_x=XPos.LMARGIN)
        else:
            pdf.set_x(x)
            pdf.cell(label_width, 7, f"  {label}", fill=True)
            pdf.cell(40, 7, f"{amount}  ", fill=True, align="R", new_x=XPos.LMARGIN)
        pdf.ln(7.6)


def lines_table(pdf: InvoicePDF, *, widths, aligns, titles, rows, **options) -> None:
    """The lines as a table; its columns run right to left in Arabic."""
    if pdf.rtl:
        flip = {"LEFT": "RIGHT", "RIGHT": "LEFT"}
        widths, titles = widths[::-1], titles[::-1]
        aligns = tuple(flip.get(align, align) for align in aligns[::-1])
        rows = [row[::-1] for row in rows]
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=INK)
    with pdf.table(
        col_widths=widths,
        text_align=aligns,
        headings_style=heading,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=4.6,
        width=180,
        **options,
    ) as table:
        row = table.row()
        for title in titles:
            row.cell(title)
        for cells in rows:
            row = table.row()
            for text in cells:
                row.cell(text)


def amount_in_words_block(
    pdf: InvoicePDF, french: str, translated: str, *, markdown: bool = True, align: str = "L"
) -> None:
    """The legal « arrêtée à la somme de » in French, then (Arabic, English) in the reader's."""
    with pdf.french():
        pdf.multi_cell(
            180,
            5,
            french,
            border=1,
            padding=3,
            align=align,
            markdown=markdown,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    if pdf.language != "fr":
        pdf.multi_cell(
            180,
            5,
            translated,
            border="LRB",
            padding=3,
            align=pdf.align(align),
            markdown=markdown,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def heading(pdf: InvoicePDF, text: str) -> None:
    pdf.font(9, bold=True)
    pdf.cell(0, 5, text, align=pdf.align("L"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def paragraph(pdf: InvoicePDF, text: str, height: float = 4.4) -> None:
    pdf.multi_cell(180, height, text, align=pdf.align("J"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def seller_block(pdf: InvoicePDF, seller: dict, *, details: bool) -> float:
    """The seller's name and address (with `details`: e-mail and legal identifiers) at the
    top left, top right in Arabic; returns its bottom."""
    pdf.set_x(pdf.at(15, 100))
    pdf.font(15, bold=True, color=BRAND)
    pdf.multi_cell(100, 7, seller.get("name", ""), align=pdf.align("J"), new_x=XPos.LMARGIN)
    pdf.font(8.5)
    texts = (
        (seller.get("address", ""), seller.get("email") or None)
        if details
        else (seller.get("address", ""),)
    )
    for text in texts:
        if text is not None:  # an empty address still takes its line, as it always has
            pdf.set_x(pdf.at(15, 100))
            pdf.multi_cell(100, 4.2, text, align=pdf.align("J"), new_x=XPos.LMARGIN)
    if not details:
        return pdf.get_y()
    pdf.ln(1)
    for label, value in legal_ids(
        seller,
        (("NIF", "nif"), ("NIS", "nis"), ("RC", "rc"), ("Article d'imposition", "article")),
    ):
        pdf.font(8.5, bold=True)
        width = pdf.get_string_width(f"{label} : ") + 0.5
        if pdf.rtl:
            pdf.set_x(pdf.at(15, width))
            pdf.cell(width, 4.2, f"{label} : ", align="R")
            pdf.font(8.5)
            pdf.set_x(pdf.at(15 + width, 100 - width))
            pdf.cell(100 - width, 4.2, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.cell(width, 4.2, f"{label} : ")
            pdf.font(8.5)
            pdf.cell(0, 4.2, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf.get_y()


def title_block(
    pdf: InvoicePDF, *, top: float, x: float, width: float, size: float, title: str, number: str
) -> None:
    """« FACTURE » and its number at the top right (top left in Arabic)."""
    pdf.set_xy(pdf.at(x, width), top)
    pdf.font(size, bold=True)
    pdf.cell(width, 11, title, align=pdf.align("R"), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_x(pdf.at(x, width))
    pdf.font(11, bold=True, color=BRAND)
    label = _("N° %(number)s") % {"number": number}
    pdf.cell(width, 6, label, align=pdf.align("R"), new_x=XPos.LEFT, new_y=YPos.NEXT)
