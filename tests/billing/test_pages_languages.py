"""The espace client's billing pages in Arabic and English (issue 15, Languages): labels,
messages and customer-facing errors follow the language; French stays the default."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.metering import usage_record_batch
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory
from tests.catalog.factories import PlanFactory
from tests.languages import get_in, in_languages  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_languages")]

ALGIERS = ZoneInfo("Africa/Algiers")
USAGE_URL = "/espace-client/consommation/"


@pytest.fixture
def customer_with_usage(client, freeze):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory(subscription__plan=PlanFactory(included_credits=Decimal("500")))
    key = ApiKeyFactory(account=account, name="Production")
    usage_record_batch(
        events=[
            {
                "idempotency_key": name,
                "api_key": key.raw,
                "model": "gpt-4.1",
                "input_tokens": 500,
                "output_tokens": 1500,
                "occurred_at": datetime(2026, 11, 3, 12, tzinfo=ALGIERS).isoformat(),
            }
            for name in ("a", "b", "c")
        ]
    )
    client.force_login(account.owner)
    return account


@pytest.fixture
def invoice(client):
    account = AccountFactory(name="Atlas Numérique SARL")
    client.force_login(account.owner)
    return InvoiceFactory(period=BillingPeriodFactory(account=account))


def _page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


FRENCH_USAGE_LABELS = ["Coût total", "Sur les crédits", "Par modèle", "Exporter en CSV", "Afficher"]


def test_the_usage_page_in_arabic(client, customer_with_usage):
    page = _page(get_in(client, USAGE_URL, "ar", user=customer_with_usage.owner))

    for label in ("الاستهلاك", "التكلفة الإجمالية", "من الأرصدة", "حسب النموذج", "حسب مفتاح API"):
        assert label in page
    assert "تصدير بصيغة CSV" in page
    assert "3 استدعاءات" in page  # Arabic plural for 3 to 10
    for french in FRENCH_USAGE_LABELS:
        assert french not in page


def test_the_usage_page_in_english(client, customer_with_usage):
    page = _page(get_in(client, USAGE_URL, "en", user=customer_with_usage.owner))

    for label in ("Usage", "Total cost", "On credits", "Per model", "Per API key", "Export as CSV"):
        assert label in page
    assert "3 calls" in page
    for french in FRENCH_USAGE_LABELS:
        assert french not in page


def test_usage_filter_errors_follow_the_language(client, customer_with_usage):
    url = f"{USAGE_URL}?du=2026-11-20&au=2026-11-10"

    page = _page(get_in(client, url, "en", user=customer_with_usage.owner))

    assert "To: The end date must come after the start date." in page
    assert "Filters ignored: the whole month is shown." in page


FRENCH_INVOICE_LABELS = [
    "Total HT",
    "Total TTC",
    "Télécharger le PDF",
    "Émise par",
    "Reste à payer",
]


def test_an_invoice_in_arabic(client, invoice):
    page = _page(get_in(client, f"/espace-client/factures/{invoice.number}/", "ar"))

    assert f"الفاتورة {invoice.number}" in page
    assert "المجموع دون احتساب الرسوم" in page
    assert "المجموع شامل الرسوم" in page
    assert "الرسم على القيمة المضافة 19&nbsp;%" in page
    assert "تنزيل ملف PDF" in page
    assert "مستحقة&nbsp;الدفع" in page
    assert "المتبقي للدفع" in page
    for french in FRENCH_INVOICE_LABELS:
        assert french not in page


def test_an_invoice_in_english(client, invoice):
    page = _page(get_in(client, f"/espace-client/factures/{invoice.number}/", "en"))

    assert f"Invoice {invoice.number}" in page
    assert "Total excl. VAT" in page
    assert "Total incl. VAT" in page
    assert "VAT 19&nbsp;%" in page
    assert "Download the PDF" in page
    assert "Issued by" in page
    assert "Billed to" in page
    assert "Balance due" in page
    for french in FRENCH_INVOICE_LABELS:
        assert french not in page


def test_the_invoice_list_in_english(client, invoice):
    page = _page(get_in(client, "/espace-client/factures/", "en"))

    assert "Invoices" in page
    assert "To&nbsp;pay" in page
    assert "Due date" in page
    assert "Échéance" not in page


def test_french_stays_the_default(client, invoice):
    page = _page(client.get(f"/espace-client/factures/{invoice.number}/"))

    assert f"Facture {invoice.number}" in page
    assert "TVA 19&nbsp;%" in page
    assert "Reste à payer" in page


def test_a_recharge_error_follows_the_language(client, invoice):
    response = get_in(client, "/espace-client/recharges/", "en")
    assert "Credit top-ups" in _page(response)

    client.cookies["django_language"] = "en"
    response = client.post("/espace-client/recharges/", {"montant": "1"}, HTTP_ACCEPT_LANGUAGE="en")

    assert "The minimum top-up is" in _page(response)


def test_the_customer_api_says_its_errors_in_the_asked_language(client, customer_with_usage):
    key = ApiKeyFactory(account=customer_with_usage)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key.raw}"}

    english = get_in(client, "/api/v1/usage/?from=nope", "en", **auth)
    arabic = get_in(client, "/api/v1/usage/?from=nope", "ar", **auth)
    french = get_in(client, "/api/v1/usage/?from=nope", "fr", **auth)

    assert english.json() == {"detail": "“from” must be a date YYYY-MM-DD."}
    assert arabic.json() == {"detail": "يجب أن يكون «from» تاريخًا بالصيغة YYYY-MM-DD."}
    assert french.json() == {"detail": "« from » doit être une date AAAA-MM-JJ."}


def test_the_dashboards_bill_so_far_in_english(client, customer_with_usage):
    page = _page(get_in(client, "/espace-client/", "en", user=customer_with_usage.owner))

    assert "Current invoice —" in page
    assert "VAT 19%" in page
    assert "Total incl. VAT" in page
    assert "Prepaid balance" in page
    assert "Facture en cours" not in page
