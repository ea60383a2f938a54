"""An invoice as a PDF, laid out like an Algerian commercial invoice (fpdf2, pure Python).

Accented text needs a Unicode TrueType font: DejaVu Sans where the system has it (Debian
fonts-dejavu-core), otherwise fpdf2's core Helvetica with the text folded to Latin-1.

In the reader's language (issue 15): French (as issued, the default), English, or Arabic laid
out right to left with shaped glyphs (DejaVu Sans has them; shaping needs uharfbuzz). Without
DejaVu an Arabic request gets the French document. The legal mentions stay French: the seller's
identifiers (bilingual labels in Arabic), the footer and « Arrêtée la présente facture … »,
followed in Arabic or English by the amount in words in that language.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos

from iafactory.formatting import date_label, format_money, month_label

from . import document_wording as wording
from .models import Invoice
from .overage import invoice_credits_note
from .pdf_layout import (
    BRAND,
    DANGER,
    INK,
    LINE,
    MUTED,
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
from .services.invoices import line_unit_price, payment_terms_text, tva_label

COMPRESS = True  # tests turn it off to read the text of a Helvetica PDF
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
STAMPS = {
    Invoice.Status.PAID: gettext_lazy("PAYÉE"),
    Invoice.Status.CREDITED: gettext_lazy("AVOIR ÉMIS"),
    Invoice.Status.VOID: gettext_lazy("ANNULÉE"),
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
    """The invoice page in `language` ('fr', 'ar' or 'en'; see document_language)."""

    def __init__(self, invoice: Invoice, language: str = "fr") -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.invoice = invoice
        directory = font_dir()
        self.unicode = directory is not None
        self.language = language if self.unicode or language != "ar" else "fr"
        self.rtl = self.language == "ar"
        if directory is not None:
            self.add_font("Body", "", str(directory / "DejaVuSans.ttf"))
            self.add_font("Body", "B", str(directory / "DejaVuSans-Bold.ttf"))
            self.family = "Body"
        else:
            self.family = "helvetica"
        if self.rtl:
            # Each paragraph takes the direction of its first letter (HTML's dir="auto"):
            # Arabic labels run right to left, a French address or a RIB left to right.
            self.set_text_shaping(use_shaping_engine=True)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=22)
        self.set_title(_("Facture %(number)s") % {"number": invoice.number})
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

    def at(self, x: float, width: float) -> float:
        """Where a block laid out at `x` (left to right) goes: mirrored right to left."""
        return self.w - x - width if self.rtl else x

    def align(self, align: str) -> str:
        """`align` as written for left to right, mirrored right to left."""
        return {"L": "R", "R": "L", "J": "R"}.get(align, align) if self.rtl else align

    @contextmanager
    def french(self) -> Iterator[None]:
        """A French legal mention inside an Arabic page: laid out left to right."""
        rtl = self.rtl
        self.rtl = False
        try:
            yield
        finally:
            self.rtl = rtl

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
        with self.french():
            self.cell(0, 4, f"{seller.get('name', '')} — {address}", align="C", new_x=XPos.LMARGIN)
            self.ln(4)
            self.cell(0, 4, ids, align="C")
        self.set_xy(15, -16 + 4)
        page = _("Page %(page)s/%(pages)s") % {"page": self.page_no(), "pages": "{nb}"}
        self.cell(0, 4, page, align=self.align("R"))


def invoice_pdf(invoice: Invoice, language: str | None = None) -> bytes:
    """The invoice as PDF bytes in `language` (a Django language code; None: the active
    language, as the espace client's download is; e-mails pass the recipient's)."""
    language = pdf_language(language)
    with translation.override(language):
        return _invoice_pdf(invoice, language)


def pdf_language(language: str | None) -> str:
    """The language a document is drawn in: `language` (None: the active one), French when
    it is Arabic and no font with Arabic glyphs is installed (Helvetica has none)."""
    language = wording.document_language(language)
    if language == "ar" and font_dir() is None:
        return "fr"
    return language


def _invoice_pdf(invoice: Invoice, language: str) -> bytes:
    seller = invoice.seller
    lines = list(invoice.lines.select_related("plan", "model").order_by("position"))
    pdf = InvoicePDF(invoice, language)
    language = pdf.language
    pdf.add_page()

    # Seller (left) and title (right); mirrored in Arabic.
    top = pdf.get_y()
    seller_bottom = seller_block(pdf, seller, details=True)
    title_block(pdf, top=top, x=120, width=75, size=24, title=_("FACTURE"), number=invoice.number)
    stamp = STAMPS.get(invoice.status)
    if stamp:
        pdf.ln(2)
        pdf.set_x(pdf.at(150, 45))
        paid = invoice.status == Invoice.Status.PAID
        pdf.set_draw_color(*(BRAND if paid else DANGER))
        pdf.set_line_width(0.6)
        pdf.font(11, bold=True, color=BRAND if paid else DANGER)
        pdf.cell(45, 8, str(stamp), border=1, align="C")
        pdf.set_line_width(0.2)

    # Invoice details (left) and customer (right), boxed side by side.
    box_top = max(seller_bottom, pdf.get_y()) + 7
    due = date_label(invoice.due_date) if invoice.due_date else _("à réception")
    left_bottom = box(
        pdf,
        x=15,
        y=box_top,
        width=85,
        title=_("FACTURE"),
        rows=[
            (_("Numéro"), invoice.number),
            (_("Date"), date_label(invoice.issued_at)),
            (_("Période facturée"), month_label(invoice.month)),
            (_("Échéance"), due),
            (_("Mode de paiement"), _("virement bancaire, CIB ou Edahabia")),
            (_("Devise"), _("dinar algérien (DZD)")),
        ],
    )
    right_bottom = box(
        pdf,
        x=110,
        y=box_top,
        width=85,
        title=_("FACTURÉ À"),
        heading=invoice.customer_name,
        text="\n".join(part for part in (invoice.customer_address, invoice.customer_email) if part),
        rows=legal_ids(
            {
                "nif": invoice.customer_nif,
                "nis": invoice.customer_nis,
                "rc": invoice.customer_rc,
                "article": invoice.customer_article,
            },
            (("NIF", "nif"), ("NIS", "nis"), ("RC", "rc"), ("Article d'imposition", "article")),
        ),
    )
    box_bottom = max(left_bottom, right_bottom)
    frames(pdf, box_top, box_bottom)

    # Lines.
    pdf.set_xy(15, box_bottom + 8)
    pdf.font(8.5)
    pdf.set_draw_color(*LINE)
    first_days = wording.fee_first_days(invoice.month, lines)
    lines_table(
        pdf,
        widths=(10, 78, 32, 32, 28),
        aligns=("CENTER", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        titles=(
            pgettext("colonne", "N°"),
            _("Désignation"),
            _("Quantité"),
            _("Prix unitaire HT"),
            _("Montant HT"),
        ),
        rows=[
            (
                str(line.position),
                wording.line_description(line, language, first_day=first_days.get(line.position)),
                wording.line_quantity(line, language),
                line_unit_price(line),
                format_money(line.amount),
            )
            for line in lines
        ],
        padding=(1.6, 1.8),
        cell_fill_color=(247, 249, 252),
        cell_fill_mode=TableCellFillMode.ROWS,
    )

    note = invoice_credits_note(invoice, lines)
    if note:  # issue 15: what the credits paid, and the rounding rule
        pdf.ln(1)
        pdf.font(7.5, color=MUTED)
        pdf.multi_cell(180, 3.6, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # Totals, right-aligned.
    pdf.ln(4)
    totals(
        pdf,
        (
            (_("Total HT"), invoice.total_ht, False),
            (tva_label(invoice.tva_rate), invoice.tva_amount, False),
            (_("Total TTC"), invoice.total_ttc, True),
        ),
        x=115,
        label_width=40,
    )

    # Amount in words, payment terms and bank details.
    pdf.ln(4)
    pdf.set_draw_color(*LINE)
    pdf.font(9)
    total = format_money(invoice.total_ttc)
    with translation.override("fr"):  # the legal mention is French, its figures too
        total_fr = format_money(invoice.total_ttc)
    amount_in_words_block(
        pdf,
        f"Arrêtée la présente facture à la somme de : "
        f"**{wording.amount_in_words(invoice.total_ttc, 'fr')}** ({total_fr} DZD TTC).",
        _("Soit, en toutes lettres : **%(words)s** (%(total)s %(currency)s TTC).")
        % {
            "words": wording.amount_in_words(invoice.total_ttc, language),
            "total": total,
            "currency": wording.currency(),
        },
    )
    pdf.ln(5)
    heading(pdf, _("Conditions de paiement"))
    pdf.font(8.5)
    paragraph(pdf, payment_terms_text(seller.get("payment_terms", "")))
    if seller.get("bank"):
        pdf.ln(2)
        heading(pdf, _("Coordonnées bancaires"))
        pdf.font(8.5)
        paragraph(pdf, seller["bank"])
    pdf.ln(3)
    pdf.font(8, color=MUTED)
    paragraph(
        pdf,
        _("Montants en dinars algériens. Référence à rappeler lors du paiement : %(number)s.")
        % {"number": invoice.number},
        4,
    )
    return bytes(pdf.output())
