"""A credit note (facture d'avoir) as a PDF, in the invoice's layout (billing/pdf.py) and the
reader's language (issue 15): French as issued, English, or Arabic right to left."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from iafactory.formatting import date_label, format_money

from . import document_wording as wording
from .models import CreditNote
from .pdf import InvoicePDF, pdf_language
from .pdf_layout import (
    amount_in_words_block,
    box,
    frames,
    heading,
    legal_ids,
    lines_table,
    paragraph,
    seller_block,
    title_block,
    totals,
)
from .services.invoices import tva_label


def credit_note_pdf(note: CreditNote, language: str | None = None) -> bytes:
    """The credit note as PDF bytes in `language` (None: the active language)."""
    language = pdf_language(language)
    with translation.override(language):
        return _credit_note_pdf(note, language)


def _credit_note_pdf(note: CreditNote, language: str) -> bytes:
    invoice = note.invoice
    seller = invoice.seller
    pdf = InvoicePDF(invoice, language)
    pdf.set_title(_("Avoir %(number)s") % {"number": note.number})
    pdf.add_page()

    top = pdf.get_y()
    seller_bottom = seller_block(pdf, seller, details=False)
    title_block(
        pdf, top=top, x=110, width=85, size=20, title=_("FACTURE D'AVOIR"), number=note.number
    )

    box_top = max(seller_bottom, pdf.get_y()) + 7
    left = box(
        pdf,
        x=15,
        y=box_top,
        width=85,
        title=_("AVOIR"),
        rows=[
            (_("Numéro"), note.number),
            (_("Date"), date_label(note.issued_at)),
            (_("Facture d'origine"), invoice.number),
            (_("Date de la facture"), date_label(invoice.issued_at)),
        ],
    )
    right = box(
        pdf,
        x=110,
        y=box_top,
        width=85,
        title=_("CLIENT"),
        heading=invoice.customer_name,
        text=invoice.customer_address,
        rows=legal_ids(
            {"nif": invoice.customer_nif, "rc": invoice.customer_rc},
            (("NIF", "nif"), ("RC", "rc")),
        ),
    )
    bottom = max(left, right)
    frames(pdf, box_top, bottom)

    pdf.set_xy(15, bottom + 6)
    heading(pdf, _("Motif"))
    pdf.font(8.5)
    paragraph(pdf, note.reason)
    pdf.ln(4)
    lines = list(note.lines.select_related("invoice_line__model").order_by("position"))
    first_days = wording.fee_first_days(
        invoice.month, invoice.lines.order_by("position").only("kind", "days", "position")
    )
    lines_table(
        pdf,
        widths=(10, 130, 40),
        aligns=("CENTER", "LEFT", "RIGHT"),
        titles=(pgettext("colonne", "N°"), _("Désignation créditée"), _("Montant HT")),
        rows=[
            (
                str(line.position),
                _credited_description(line, language, first_days),
                f"-{format_money(line.amount)}",
            )
            for line in lines
        ],
    )
    pdf.ln(4)
    totals(
        pdf,
        (
            (_("Total HT"), note.total_ht, False),
            (tva_label(note.tva_rate), note.tva_amount, False),
            (_("Total TTC de l'avoir"), note.total_ttc, True),
        ),
        x=105,
        label_width=50,
        sign="-",
    )
    pdf.ln(4)
    pdf.font(9)
    total = format_money(note.total_ttc)
    with translation.override("fr"):  # the legal mention is French, its figures too
        total_fr = format_money(note.total_ttc)
    amount_in_words_block(
        pdf,
        f"Arrêté le présent avoir à la somme de : {wording.amount_in_words(note.total_ttc, 'fr')} "
        f"({total_fr} DZD TTC), en déduction de la facture {invoice.number}.",
        _(
            "Soit, en toutes lettres : %(words)s (%(total)s %(currency)s TTC), en déduction "
            "de la facture %(number)s."
        )
        % {
            "words": wording.amount_in_words(note.total_ttc, language),
            "total": total,
            "currency": wording.currency(),
            "number": invoice.number,
        },
        markdown=False,
        align="J",
    )
    return bytes(pdf.output())


def _credited_description(line, language: str, first_days) -> str:
    """The credited invoice line's designation, reworded as the invoice's is when the note
    copied it unchanged."""
    invoice_line = line.invoice_line
    if line.description != invoice_line.description:
        return line.description
    return wording.line_description(
        invoice_line, language, first_day=first_days.get(invoice_line.position)
    )
