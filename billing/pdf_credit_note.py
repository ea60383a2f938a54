"""A credit note (facture d'avoir) as a PDF, in the invoice's layout (billing/pdf.py)."""

from __future__ import annotations

from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from iafactory.formatting import date_label, format_money

from .models import CreditNote
from .pdf import BRAND, INK, LIGHT, LINE, InvoicePDF, _box
from .services.invoices import amount_in_words, tva_label


def credit_note_pdf(note: CreditNote) -> bytes:
    invoice = note.invoice
    seller = invoice.seller
    pdf = InvoicePDF(invoice)
    pdf.set_title(f"Avoir {note.number}")
    pdf.add_page()

    top = pdf.get_y()
    pdf.font(15, bold=True, color=BRAND)
    pdf.multi_cell(100, 7, seller.get("name", ""), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font(8.5)
    pdf.multi_cell(100, 4.2, seller.get("address", ""), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    seller_bottom = pdf.get_y()
    pdf.set_xy(110, top)
    pdf.font(20, bold=True)
    pdf.cell(85, 11, "FACTURE D'AVOIR", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_x(110)
    pdf.font(11, bold=True, color=BRAND)
    pdf.cell(85, 6, f"N° {note.number}", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)

    box_top = max(seller_bottom, pdf.get_y()) + 7
    left = _box(
        pdf,
        x=15,
        y=box_top,
        width=85,
        title="AVOIR",
        rows=[
            ("Numéro", note.number),
            ("Date", date_label(note.issued_at)),
            ("Facture d'origine", invoice.number),
            ("Date de la facture", date_label(invoice.issued_at)),
        ],
    )
    right = _box(
        pdf,
        x=110,
        y=box_top,
        width=85,
        title="CLIENT",
        heading=invoice.customer_name,
        text=invoice.customer_address,
        rows=[("NIF", invoice.customer_nif or "—"), ("RC", invoice.customer_rc or "—")],
    )
    bottom = max(left, right)
    pdf.set_draw_color(*LINE)
    pdf.rect(15, box_top, 85, bottom - box_top)
    pdf.rect(110, box_top, 85, bottom - box_top)

    pdf.set_xy(15, bottom + 6)
    pdf.font(9, bold=True)
    pdf.cell(0, 5, "Motif", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font(8.5)
    pdf.multi_cell(180, 4.4, note.reason, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=INK)
    with pdf.table(
        col_widths=(10, 130, 40),
        text_align=("CENTER", "LEFT", "RIGHT"),
        headings_style=heading,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=4.6,
        width=180,
    ) as table:
        row = table.row()
        for title in ("N°", "Désignation créditée", "Montant HT"):
            row.cell(title)
        for line in note.lines.order_by("position"):
            row = table.row()
            row.cell(str(line.position))
            row.cell(line.description)
            row.cell(f"-{format_money(line.amount)}")
    pdf.ln(4)
    for label, value, strong in (
        ("Total HT", note.total_ht, False),
        (tva_label(note.tva_rate), note.tva_amount, False),
        ("Total TTC de l'avoir", note.total_ttc, True),
    ):
        pdf.set_x(105)
        pdf.set_fill_color(*(INK if strong else LIGHT))
        pdf.font(10 if strong else 9, bold=strong, color=(255, 255, 255) if strong else INK)
        pdf.cell(50, 7, f"  {label}", fill=True)
        pdf.cell(40, 7, f"-{format_money(value)} DZD  ", fill=True, align="R", new_x=XPos.LMARGIN)
        pdf.ln(7.6)
    pdf.ln(4)
    pdf.font(9)
    pdf.multi_cell(
        180,
        5,
        f"Arrêté le présent avoir à la somme de : {amount_in_words(note.total_ttc)} "
        f"({format_money(note.total_ttc)} DZD TTC), en déduction de la facture {invoice.number}.",
        border=1,
        padding=3,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())
