"""An invoice as a PDF, laid out like an Algerian commercial invoice (fpdf2, pure Python).

Accented text needs a Unicode TrueType font: DejaVu Sans where the system has it (Debian
fonts-dejavu-core), otherwise fpdf2's core Helvetica with the text folded to Latin-1.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from iafactory.formatting import date_label, format_money, month_label

from .models import Invoice
from .overage import invoice_credits_note
from .services.invoices import amount_in_words, line_quantity, line_unit_price, tva_label

COMPRESS = True  # tests turn it off to read the text of a Helvetica PDF
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
INK = (20, 33, 61)
MUTED = (91, 100, 120)
BRAND = (11, 110, 79)
LIGHT = (238, 242, 247)
LINE = (200, 207, 220)
DANGER = (180, 35, 24)
STAMPS = {
    Invoice.Status.PAID: "PAYÉE",
    Invoice.Status.CREDITED: "AVOIR ÉMIS",
    Invoice.Status.VOID: "ANNULÉE",
}
_LATIN1_FOLD = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "\u202f": "\u00a0",
        "œ": "oe",
        "Œ": "OE",
        "€": "EUR",
    }
)


def font_dir() -> Path | None:
    for directory in FONT_DIRS:
        if (directory / "DejaVuSans.ttf").is_file() and (
            directory / "DejaVuSans-Bold.ttf"
        ).is_file():
            return directory
    return None


class InvoicePDF(FPDF):
    def __init__(self, invoice: Invoice) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.invoice = invoice
        directory = font_dir()
        self.unicode = directory is not None
        if directory is not None:
            self.add_font("Body", "", str(directory / "DejaVuSans.ttf"))
            self.add_font("Body", "B", str(directory / "DejaVuSans-Bold.ttf"))
            self.family = "Body"
        else:
            self.family = "helvetica"
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=22)
        self.set_title(f"Facture {invoice.number}")
        self.set_author(invoice.seller.get("name", ""))
        self.set_creator("IAFactory")
        self.set_compression(COMPRESS)
        self.alias_nb_pages()

    def normalize_text(self, text: str) -> str:
        if not self.unicode:
            text = text.translate(_LATIN1_FOLD).encode("latin-1", "replace").decode("latin-1")
        return super().normalize_text(text)

    def font(self, size: float, bold: bool = False, color=INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)

    def footer(self) -> None:
        seller = self.invoice.seller
        self.set_y(-16)
        self.set_draw_color(*LINE)
        self.line(15, self.get_y(), 195, self.get_y())
        self.font(7, color=MUTED)
        ids = " · ".join(
            f"{label} {seller[key]}"
            for label, key in (("NIF", "nif"), ("NIS", "nis"), ("RC", "rc"), ("AI", "article"))
            if seller.get(key)
        )
        address = " ".join(seller.get("address", "").split())
        self.cell(0, 4, f"{seller.get('name', '')} — {address}", align="C", new_x=XPos.LMARGIN)
        self.ln(4)
        self.cell(0, 4, ids, align="C")
        self.set_xy(15, -16 + 4)
        self.cell(0, 4, f"Page {self.page_no()}/{{nb}}", align="R")


def _box(
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
    pdf.set_xy(x, y)
    pdf.set_fill_color(*LIGHT)
    pdf.font(8, bold=True, color=MUTED)
    pdf.cell(width, 6, f"  {title}", fill=True, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.ln(1)
    inner = width - 5
    if heading:
        pdf.set_x(x + 2.5)
        pdf.font(10.5, bold=True)
        pdf.multi_cell(inner, 5.2, heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
    if text:
        pdf.set_x(x + 2.5)
        pdf.font(8.5)
        pdf.multi_cell(inner, 4.3, text, new_x=XPos.LEFT, new_y=YPos.NEXT)
    label_width = max(pdf.get_string_width(label) for label, _ in rows) + 8
    for label, value in rows:
        pdf.set_x(x + 2.5)
        pdf.font(8.5, bold=True)
        pdf.cell(label_width, 4.6, label)
        pdf.font(8.5)
        pdf.multi_cell(inner - label_width, 4.6, value, new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y() + 2


def _legal_ids(details: dict[str, str], labels) -> list[tuple[str, str]]:
    return [(label, details.get(key) or "—") for label, key in labels]


def invoice_pdf(invoice: Invoice) -> bytes:
    seller = invoice.seller
    lines = list(invoice.lines.select_related("plan", "model").order_by("position"))
    pdf = InvoicePDF(invoice)
    pdf.add_page()

    # Seller (left) and title (right).
    top = pdf.get_y()
    pdf.font(15, bold=True, color=BRAND)
    pdf.multi_cell(100, 7, seller.get("name", ""), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font(8.5)
    pdf.multi_cell(100, 4.2, seller.get("address", ""), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if seller.get("email"):
        pdf.multi_cell(100, 4.2, seller["email"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    for label, value in _legal_ids(
        seller,
        (("NIF", "nif"), ("NIS", "nis"), ("RC", "rc"), ("Article d'imposition", "article")),
    ):
        pdf.font(8.5, bold=True)
        pdf.cell(pdf.get_string_width(f"{label} : ") + 0.5, 4.2, f"{label} : ")
        pdf.font(8.5)
        pdf.cell(0, 4.2, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    seller_bottom = pdf.get_y()

    pdf.set_xy(120, top)
    pdf.font(24, bold=True)
    pdf.cell(75, 11, "FACTURE", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_x(120)
    pdf.font(11, bold=True, color=BRAND)
    pdf.cell(75, 6, f"N° {invoice.number}", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    stamp = STAMPS.get(invoice.status)
    if stamp:
        pdf.ln(2)
        pdf.set_x(150)
        paid = invoice.status == Invoice.Status.PAID
        pdf.set_draw_color(*(BRAND if paid else DANGER))
        pdf.set_line_width(0.6)
        pdf.font(11, bold=True, color=BRAND if paid else DANGER)
        pdf.cell(45, 8, stamp, border=1, align="C")
        pdf.set_line_width(0.2)

    # Invoice details (left) and customer (right), boxed side by side.
    box_top = max(seller_bottom, pdf.get_y()) + 7
    left_bottom = _box(
        pdf,
        x=15,
        y=box_top,
        width=85,
        title="FACTURE",
        rows=[
            ("Numéro", invoice.number),
            ("Date", date_label(invoice.issued_at)),
            ("Période facturée", month_label(invoice.month)),
            ("Échéance", date_label(invoice.due_date) if invoice.due_date else "à réception"),
            ("Mode de paiement", "virement bancaire, CIB ou Edahabia"),
            ("Devise", "dinar algérien (DZD)"),
        ],
    )
    right_bottom = _box(
        pdf,
        x=110,
        y=box_top,
        width=85,
        title="FACTURÉ À",
        heading=invoice.customer_name,
        text="\n".join(part for part in (invoice.customer_address, invoice.customer_email) if part),
        rows=[
            ("NIF", invoice.customer_nif or "—"),
            ("NIS", invoice.customer_nis or "—"),
            ("RC", invoice.customer_rc or "—"),
            ("Article d'imposition", invoice.customer_article or "—"),
        ],
    )
    box_bottom = max(left_bottom, right_bottom)
    pdf.set_draw_color(*LINE)
    pdf.rect(15, box_top, 85, box_bottom - box_top)
    pdf.rect(110, box_top, 85, box_bottom - box_top)

    # Lines.
    pdf.set_xy(15, box_bottom + 8)
    pdf.font(8.5)
    pdf.set_draw_color(*LINE)
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=INK)
    with pdf.table(
        col_widths=(10, 78, 32, 32, 28),
        text_align=("CENTER", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=heading,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=4.6,
        padding=(1.6, 1.8),
        width=180,
        cell_fill_color=(247, 249, 252),
        cell_fill_mode=TableCellFillMode.ROWS,
    ) as table:
        row = table.row()
        for title in ("N°", "Désignation", "Quantité", "Prix unitaire HT", "Montant HT"):
            row.cell(title)
        for line in lines:
            row = table.row()
            row.cell(str(line.position))
            row.cell(line.description)
            row.cell(line_quantity(line))
            row.cell(line_unit_price(line))
            row.cell(format_money(line.amount))

    note = invoice_credits_note(invoice, lines)
    if note:  # issue 15: what the credits paid, and the rounding rule
        pdf.ln(1)
        pdf.font(7.5, color=MUTED)
        pdf.multi_cell(180, 3.6, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # Totals, right-aligned.
    pdf.ln(4)
    for label, value, strong in (
        ("Total HT", invoice.total_ht, False),
        (tva_label(invoice.tva_rate), invoice.tva_amount, False),
        ("Total TTC", invoice.total_ttc, True),
    ):
        pdf.set_x(115)
        pdf.set_fill_color(*(INK if strong else LIGHT))
        color = (255, 255, 255) if strong else INK
        pdf.font(10 if strong else 9, bold=strong, color=color)
        pdf.cell(40, 7, f"  {label}", fill=True)
        pdf.cell(40, 7, f"{format_money(value)} DZD  ", fill=True, align="R", new_x=XPos.LMARGIN)
        pdf.ln(7.6)

    # Amount in words, payment terms and bank details.
    pdf.ln(4)
    pdf.set_draw_color(*LINE)
    pdf.font(9)
    words = amount_in_words(invoice.total_ttc)
    pdf.multi_cell(
        180,
        5,
        f"Arrêtée la présente facture à la somme de : **{words}** "
        f"({format_money(invoice.total_ttc)} DZD TTC).",
        border=1,
        padding=3,
        align="L",
        markdown=True,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(5)
    pdf.font(9, bold=True)
    pdf.cell(0, 5, "Conditions de paiement", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font(8.5)
    pdf.multi_cell(180, 4.4, seller.get("payment_terms", ""), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if seller.get("bank"):
        pdf.ln(2)
        pdf.font(9, bold=True)
        pdf.cell(0, 5, "Coordonnées bancaires", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.font(8.5)
        pdf.multi_cell(180, 4.4, seller["bank"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.font(8, color=MUTED)
    pdf.multi_cell(
        180,
        4,
        f"Montants en dinars algériens. Référence à rappeler lors du paiement : {invoice.number}.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())
