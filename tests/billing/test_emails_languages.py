"""E-mails in the recipient's language (issue 15): the account owner's saved language, French
by default (the French texts are asserted by each feature's own tests)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from allauth.core.context import request_context
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.email_language import AccountAdapter, user_language
from billing.services.dunning import invoices_dun
from billing.services.invoices import invoices_issued_notify
from billing.services.proofs import proof_reject, proof_upload
from catalog.services import price_schedule
from tests.accounts.factories import AccountFactory, UserFactory
from tests.billing.conftest import customer, image_event
from tests.billing.factories import InvoiceFactory
from tests.billing.test_alerts import record, set_thresholds
from tests.billing.test_price_notices import usage  # noqa: F401  (the fixture)
from tests.compiled_catalogs import catalogs, speaks  # noqa: F401  (the fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogs")]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_user_without_a_saved_language_reads_the_sites(settings):
    user = UserFactory()

    assert user_language(user) == settings.LANGUAGE_CODE == "fr"


def test_the_invoice_e_mail_in_arabic_reads_right_to_left(speaks):  # noqa: F811
    invoice = InvoiceFactory()
    speaks(invoice.account.owner, "ar")

    invoices_issued_notify(invoices=[invoice])

    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert message.subject.startswith(f"فاتورتك {invoice.number} (")
    assert f"فاتورتك من IAFactory رقم {invoice.number}" in message.body
    assert "المجموع شامل الرسوم: 1.190,00 د.ج" in flat(message.body)
    assert "فريق IAFactory" in message.body
    assert '<html lang="ar" dir="rtl">' in html
    assert "عرض الفاتورة وتنزيلها (PDF)" in html


def test_the_invoice_e_mail_in_english(speaks):  # noqa: F811
    invoice = InvoiceFactory()
    speaks(invoice.account.owner, "en")

    invoices_issued_notify(invoices=[invoice])

    message = mail.outbox[0]
    assert message.subject.startswith(f"Your invoice {invoice.number} (")
    assert "Total excl. VAT: 1,000.00 DZD" in flat(message.body)
    assert "VAT 19 %: 190.00 DZD" in flat(message.body)
    assert invoice.seller["payment_terms"] in message.body  # staff's own terms, as written
    assert '<html lang="en">' in message.alternatives[0][0]


def test_a_reminder_in_english(speaks, freeze):  # noqa: F811
    invoice = InvoiceFactory()
    speaks(invoice.account.owner, "en")
    freeze("2026-12-16 09:00 +01:00")

    invoices_dun()

    message = mail.outbox[0]
    assert message.subject == f"[IAFactory] Invoice {invoice.number} is due"
    assert "Your invoice is due today." in message.body
    assert "balance due: 1,190.00 DZD incl. VAT" in flat(message.body)


def test_a_rejected_transfer_proof_is_explained_in_arabic(
    speaks,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    invoice = InvoiceFactory()
    speaks(invoice.account.owner, "ar")
    scan = SimpleUploadedFile("virement.pdf", b"%PDF-1.4 scan", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        proof = proof_upload(account=invoice.account, upload=scan, invoice=invoice)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        proof_reject(proof=proof, reason="Montant illisible.", by=None)

    message = mail.outbox[0]
    assert message.subject == "[IAFactory] تم رفض إثبات التحويل"
    assert f"لم يُقبل إثبات التحويل المرسل بخصوص الفاتورة {invoice.number}." in message.body
    assert "السبب: Montant illisible." in message.body


def test_a_price_increase_in_english(
    usage,  # noqa: F811
    speaks,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    owner = AccountFactory._meta.model.objects.get(name="Récent SARL").owner
    speaks(owner, "en")

    with django_capture_on_commit_callbacks(execute=True):
        price_schedule(
            model=usage,
            effective_at=datetime(2027, 1, 1, tzinfo=ZoneInfo("Africa/Algiers")),
            input_per_million=Decimal("100"),
            output_per_million=Decimal("250"),
        )

    message = next(m for m in mail.outbox if m.to == ["recent@client.dz"])
    assert message.subject.startswith("[IAFactory] GPT Test price increase from ")
    assert "The account “Récent SARL” has used the model GPT Test" in message.body
    assert "250 DZD excl. VAT per million tokens" in message.body


def test_allauth_e_mails_follow_the_users_saved_language(rf, settings):
    settings.ACCOUNT_ADAPTER = "accounts.email_language.AccountAdapter"
    user = UserFactory(email="karim@exemple.dz")
    user.language = "ar"  # as saved by the language switch
    context = {"user": user, "password_reset_url": "https://x/r/"}

    with request_context(rf.get("/")):  # as allauth's middleware does
        AccountAdapter().send_mail("account/email/password_reset_key", user.email, context)

    message = mail.outbox[0]
    assert message.subject == "[IAFactory] إعادة تعيين كلمة المرور"
    assert "تم طلب إعادة تعيين كلمة مرور حسابك في IAFactory." in message.body
    assert "فريق IAFactory" in message.body


def test_a_credit_alert_to_the_owner_and_the_billing_address_in_the_owners_arabic(
    freeze,
    speaks,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    freeze("2026-11-16 10:00 +01:00")
    key = customer(credits="100")
    key.account.billing_email = "compta@client.dz"
    key.account.save()
    set_thresholds(key.account, credits=(80,))
    speaks(key.account.owner, "ar")

    record(django_capture_on_commit_callbacks, image_event(key, "a", images=11))  # 88 %

    message = mail.outbox[0]
    assert message.to == [key.account.owner.email, "compta@client.dz"]
    assert message.subject.startswith("لقد استخدمت 80 % من أرصدتك لشهر ")
    assert "يتبقى 12,00 د.ج من الأرصدة حتى نهاية الشهر." in flat(message.body)
