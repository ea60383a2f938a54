"""Money in (issue 12): Chargily settings pointing at the local stand-in, uploads in tmp."""

import pytest

from tests.accounts.factories import AccountFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory

SECRET = "test_sk_local_secret"


@pytest.fixture(autouse=True)
def chargily(settings, tmp_path):
    settings.CHARGILY_API_KEY = "test_pk_local"
    settings.CHARGILY_SECRET = SECRET
    settings.CHARGILY_STANDIN = True
    settings.CHARGILY_API_URL = "http://127.0.0.1:9/chargily-test/api/v2/"  # unreachable
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def invoice():
    """An unpaid invoice: 1 000.00 HT + 190.00 TVA = 1 190.00 TTC, due 16 December 2026."""
    account = AccountFactory()
    return InvoiceFactory(period=BillingPeriodFactory(account=account))
