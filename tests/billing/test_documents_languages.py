"""Invoices and credit notes in the reader's language (issue 15): Arabic right to left with
shaped glyphs, English, the legal mentions still in French, the amount in words translated."""

import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from billing import pdf
from billing.document_wording import amount_in_words, document_language, line_description
from billing.models import InvoiceLine
from billing.pdf_credit_note import credit_note_pdf
from billing.services.credit_notes import credit_note_issue
from catalog.models import AIModel
from tests.billing.test_invoices_pdf import invoice  # noqa: F401  (the fixture)
from tests.compiled_catalogs import catalogs  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalogs"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils"),
]
FRENCH_WORDS = (
    "Arrêtée la présente facture à la somme de : mille cinq cent quatre-vingt-sept dinars "
    "algériens et cinquante-deux centimes (1 587,52 DZD TTC)."
)
# pdftotext gives Arabic with bidi marks and vowel signs as separate marks: drop both.
_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u064b-\u0652]")


def text_of(data: bytes, tmp_path, *, raw: bool = False) -> str:
    """The PDF's text; `raw` keeps the drawing order (a left-to-right page's rows)."""
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    options = ["-raw"] if raw else []
    text = subprocess.run(  # noqa: S603
        [shutil.which("pdftotext"), *options, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return " ".join(_MARKS.sub("", text).split())


def left_edge(data: bytes, tmp_path, word: str) -> float:
    """Where `word` starts on the page, in points from the left (the page is 595 wide)."""
    path = tmp_path / "layout.pdf"
    path.write_bytes(data)
    html = subprocess.run(  # noqa: S603
        [shutil.which("pdftotext"), "-bbox", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(rf'xMin="([\d.]+)"[^>]*>{re.escape(word)}<', html).group(1))


@pytest.mark.parametrize(
    ("amount", "arabic", "english"),
    [
        ("1587.52", "ألف وخمسمائة وسبعة وثمانون دينارًا جزائريًا واثنان وخمسون سنتيمًا",
         "one thousand, five hundred and eighty-seven Algerian dinars and fifty-two centimes"),
        ("1.00", "دينار جزائري واحد", "one Algerian dinar"),
        ("2.00", "ديناران جزائريان", "two Algerian dinars"),
        ("5.00", "خمسة دنانير جزائرية", "five Algerian dinars"),
        ("1000.00", "ألف دينار جزائري", "one thousand Algerian dinars"),
        ("0.01", "صفر دينار جزائري وسنتيم واحد", "zero Algerian dinars and one centime"),
    ],
)  # fmt: skip
def test_the_amount_in_words_in_arabic_and_english(amount, arabic, english):
    assert amount_in_words(Decimal(amount), "ar") == arabic
    assert amount_in_words(Decimal(amount), "en") == english


def test_a_django_language_code_picks_the_document_language():
    assert [document_language(code) for code in ("ar-dz", "en-gb", "fr", "de")] == [
        "ar",
        "en",
        "fr",
        "fr",
    ]
    with translation.override("en"):
        assert document_language(None) == "en"


def test_the_arabic_invoice_runs_right_to_left_and_keeps_the_french_legal_mentions(
    invoice,  # noqa: F811
    tmp_path,
):
    arabic = pdf.invoice_pdf(invoice, "ar")
    french = pdf.invoice_pdf(invoice, "fr")

    text = text_of(arabic, tmp_path)
    assert "فاتورة" in text
    assert f"رقم {invoice.number}" in text
    assert "الرقم الجبائي" in text  # the legal label in Arabic…
    assert "NIF" in text  # … and French
    assert "المجموع شامل الرسوم" in text
    assert "1.587,52د.ج" in text  # the total, in « د.ج »
    assert "ألف وخمسمائة وسبعة وثمانون دينارا جزائريا" in text
    assert FRENCH_WORDS in text  # the legal sentence stays French
    assert "الباقة — Standard" in text  # the fee line, reworded
    # Mirrored: the seller's name on the right in Arabic, on the left in French.
    assert left_edge(arabic, tmp_path, "IAFactory") > 300 > left_edge(french, tmp_path, "IAFactory")


def test_the_english_invoice(invoice, tmp_path):  # noqa: F811
    text = text_of(pdf.invoice_pdf(invoice, "en"), tmp_path, raw=True)

    assert "INVOICE" in text
    assert f"No. {invoice.number}" in text
    assert "Standard plan — 1 to 30 " in text
    assert "Usage beyond the included credits — GPT-4.1" in text
    assert "334,336 input tokens" in text
    assert "Total excl. VAT 1,334.05 DZD" in text
    assert "VAT 19 % 253.47 DZD" in text
    assert "Total incl. VAT 1,587.52 DZD" in text
    assert FRENCH_WORDS in text
    assert (
        "That is, in words: one thousand, five hundred and eighty-seven Algerian dinars and "
        "fifty-two centimes (1,587.52 DZD incl. VAT)." in text
    )
    assert "Payable no later than the due date shown" in text
    assert "NIF : 001916099012345" in text  # identifiers keep their French names


def test_the_espace_client_download_follows_the_visitors_language(
    client,
    invoice,  # noqa: F811
    tmp_path,
    settings,
):
    settings.LANGUAGES = [("fr", "Français"), ("ar", "العربية"), ("en", "English")]
    client.force_login(invoice.account.owner)
    url = reverse("billing:invoice_pdf", args=[invoice.number])

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    french = client.get(url)

    assert "Total incl. VAT 1,587.52 DZD" in text_of(english.content, tmp_path, raw=True)
    assert "Total TTC 1 587,52 DZD" in text_of(french.content, tmp_path, raw=True)


def test_a_credit_note_in_english_and_arabic(invoice, tmp_path):  # noqa: F811
    note = credit_note_issue(invoice=invoice, reason="Erreur de formule")

    english = text_of(credit_note_pdf(note, "en"), tmp_path, raw=True)
    arabic = text_of(credit_note_pdf(note, "ar"), tmp_path)

    assert "CREDIT NOTE" in english
    assert f"No. {note.number}" in english
    assert "Total incl. VAT -1,587.52 DZD" in english
    assert "Arrêté le présent avoir à la somme de : mille cinq cent" in english
    assert f"deducted from invoice {invoice.number}." in english
    assert "إشعار دائن" in arabic
    assert "ألف وخمسمائة وسبعة وثمانون دينارا جزائريا" in arabic


def test_without_an_arabic_font_the_arabic_invoice_is_the_french_one(invoice, monkeypatch):  # noqa: F811
    monkeypatch.setattr(pdf, "FONT_DIRS", ())
    monkeypatch.setattr(pdf, "COMPRESS", False)

    data = pdf.invoice_pdf(invoice, "ar")

    assert "(Arrêtée la présente facture".encode("latin-1") in data
    assert b"(FACTURE)" in data


def test_a_line_whose_french_text_is_not_the_usual_one_stays_as_issued():
    model = AIModel.objects.get(slug="gpt-4.1")
    renamed = InvoiceLine(kind="overage", model=model, description="Dépassement — GPT-4 (ancien)")
    usual = InvoiceLine(
        kind="overage", model=model, description=f"Consommation au-delà des crédits — {model.name}"
    )

    assert line_description(renamed, "en") == "Dépassement — GPT-4 (ancien)"
    assert line_description(usual, "en") == f"Usage beyond the included credits — {model.name}"
