"""The invoice PDF and its French wording."""

import shutil
import subprocess
from decimal import Decimal

import pytest

from billing import pdf
from billing.models import BillingSettings, InvoiceLine
from billing.services.invoices import (
    amount_in_words,
    fee_line_description,
    line_quantity,
    seller_snapshot,
)
from catalog.models import AIModel
from tests.billing.factories import InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1190.40", "mille cent quatre-vingt-dix dinars algériens et quarante centimes"),
        (
            "1587.52",
            "mille cinq cent quatre-vingt-sept dinars algériens et cinquante-deux centimes",
        ),
        ("80.00", "quatre-vingts dinars algériens"),
        ("1.00", "un dinar algérien"),
        ("0.01", "zéro dinar algérien et un centime"),
        ("2000000.00", "deux millions de dinars algériens"),
        ("1000001.10", "un million un dinars algériens et dix centimes"),
    ],
)
def test_amount_in_words(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_fee_line_descriptions_name_the_days():
    from datetime import date

    assert (
        fee_line_description(plan_name="Standard", first_day=date(2026, 11, 1), days=15)
        == "Formule Standard — 1er au 15 novembre 2026 (15 jours)"
    )
    assert (
        fee_line_description(plan_name="Expert", first_day=date(2027, 2, 28), days=1)
        == "Formule Expert — 28 février 2027 (1 jour)"
    )


def test_line_quantities():
    text = InvoiceLine(kind="overage", input_tokens=1_200_000, output_tokens=800_000)
    image = InvoiceLine(kind="overage", images=1)
    fee = InvoiceLine(kind="fee", days=30)

    assert line_quantity(text) == "1\u00a0200\u00a0000 tokens entrée\n800\u00a0000 tokens sortie"
    assert line_quantity(image) == "1 image"
    assert line_quantity(fee) == "30 jours"


@pytest.fixture
def invoice():
    settings = BillingSettings.load()
    settings.company_nif = "001916099012345"
    settings.company_article = "16012345678"
    settings.company_bank = "BEA Didouche Mourad\nRIB : 002 00012 1234567890 12"
    settings.save()
    return InvoiceFactory(
        seller=seller_snapshot(settings),
        customer_name="Atlas Numérique SARL",
        customer_nif="000216001234567",
        total_ht=Decimal("1334.05"),
        lines=[
            {
                "kind": "fee",
                "description": "Formule Standard — 1er au 30 novembre 2026 (30 jours)",
                "days": 30,
                "amount": Decimal("1000.00"),
            },
            {
                "kind": "overage",
                "description": "Consommation au-delà des crédits — GPT-4.1",
                "model": AIModel.objects.get(slug="gpt-4.1"),
                "input_tokens": 334_336,
                "output_tokens": 125_461,
                "amount": Decimal("209.05"),
            },
            {
                "kind": "overage",
                "description": "Consommation au-delà des crédits — Claude Sonnet 4.5",
                "model": AIModel.objects.get(slug="claude-sonnet-4.5"),
                "input_tokens": 1_000_000,
                "output_tokens": 100_000,
                "amount": Decimal("125.00"),
            },
        ],
    )


def test_the_pdf_is_a_pdf(invoice):
    data = pdf.invoice_pdf(invoice)

    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_the_pdf_carries_the_legal_mentions(invoice, tmp_path):
    path = tmp_path / "facture.pdf"
    path.write_bytes(pdf.invoice_pdf(invoice))

    text = subprocess.run(  # noqa: S603
        [shutil.which("pdftotext"), "-raw", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(text.split())

    assert "FACTURE" in flat
    assert f"N° {invoice.number}" in flat
    assert "Atlas Numérique SARL" in flat
    assert "NIF : 001916099012345" in flat  # seller
    assert "Article d'imposition : 16012345678" in flat
    assert "NIF 000216001234567" in flat  # customer
    assert "Période facturée novembre 2026" in flat
    assert "Formule Standard — 1er au 30 novembre 2026 (30 jours)" in flat
    assert "334 336 tokens entrée" in flat
    assert "Total HT 1 334,05 DZD" in flat
    assert "TVA 19 % 253,47 DZD" in flat
    assert "Total TTC 1 587,52 DZD" in flat
    assert (
        "Arrêtée la présente facture à la somme de : mille cinq cent quatre-vingt-sept dinars "
        "algériens et cinquante-deux centimes" in flat
    )
    assert "RIB : 002 00012 1234567890 12" in flat


def test_without_dejavu_the_pdf_falls_back_to_helvetica(invoice, monkeypatch):
    monkeypatch.setattr(pdf, "FONT_DIRS", ())
    monkeypatch.setattr(pdf, "COMPRESS", False)

    data = pdf.invoice_pdf(invoice)

    assert b"/BaseFont /Helvetica" in data
    assert "(Arrêtée la présente facture".encode("latin-1") in data
    assert "Formule Standard - 1er au 30 novembre 2026".encode("latin-1") in data


def test_a_void_invoice_says_so(invoice, monkeypatch):
    monkeypatch.setattr(pdf, "FONT_DIRS", ())
    monkeypatch.setattr(pdf, "COMPRESS", False)
    invoice.status = "void"

    data = pdf.invoice_pdf(invoice)

    assert "(ANNULÉE)".encode("latin-1") in data
