"""The sales terms catalog shows but billing owns, read through the reader billing registers."""

from decimal import Decimal

import pytest

from billing.models import BillingSettings
from catalog import terms

pytestmark = pytest.mark.django_db


def test_the_catalog_reads_the_terms_staff_set_in_billing():
    BillingSettings.objects.update_or_create(
        pk=1, defaults={"tva_rate": Decimal("9.50"), "price_notice_days": 12}
    )

    assert terms.sales_terms() == terms.SalesTerms(tva_rate=Decimal("9.50"), price_notice_days=12)


def test_without_billing_the_catalog_shows_billings_defaults():
    reader = terms._reader
    terms.sales_terms_reader_set(None)
    try:
        shown = terms.sales_terms()
    finally:
        terms.sales_terms_reader_set(reader)

    assert shown == terms.SalesTerms(tva_rate=Decimal("19.00"), price_notice_days=30)
    field = BillingSettings._meta.get_field
    assert (field("tva_rate").default, field("price_notice_days").default) == (
        shown.tva_rate,
        shown.price_notice_days,
    )
