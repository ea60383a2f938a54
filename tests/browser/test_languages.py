"""The language switch on a 360 px phone (issue 15): Arabic right to left with amounts in « د.ج »,
English, each remembered on the next page and after logging out and in again."""

import pytest
from allauth.account.models import EmailAddress

from catalog.models import Plan
from tests.accounts.factories import PASSWORD, AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def stat(page, testid: str) -> str:
    return page.get_by_test_id(testid).inner_text().replace("\xa0", " ")


def log_in(page, email: str, button: str) -> None:
    page.goto("/comptes/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main").get_by_role("button", name=button).click()
    page.wait_for_url("**/espace-client/")


def switch_button(page, name: str):
    button = page.locator(".lang-switch").get_by_role("button", name=name)
    box = button.bounding_box()
    # Visible without scrolling sideways on the phone.
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    return button


@pytest.fixture
def customer_email():
    account = AccountFactory(subscription__plan=Plan.objects.get(slug="starter"))
    user = account.owner
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user.email


def test_arabic_then_english_are_chosen_in_the_header_and_remembered(
    browser, live_server, customer_email
):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, customer_email, "Se connecter")
    assert page.locator("html").get_attribute("dir") is None
    assert stat(page, "credits-inclus") == "500,00 DZD"

    # العربية: right to left, dinars written « د.ج ».
    switch_button(page, "العربية").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.get_by_role("heading", name="لوحة القيادة").is_visible()
    assert stat(page, "credits-inclus") == "500,00 د.ج"
    # The sidebar sits on the right now.
    nav = page.locator(".espace-nav a").first.bounding_box()
    assert nav["x"] + nav["width"] > PHONE["width"] / 2

    # The next page, then logging out and in again: still Arabic.
    page.locator(".espace-nav").get_by_role("link", name="الباقة").click()
    page.get_by_role("heading", name="تغيير الباقة").wait_for()
    page.get_by_role("button", name="تسجيل الخروج").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    log_in(page, customer_email, "تسجيل الدخول")
    assert stat(page, "credits-inclus") == "500,00 د.ج"

    # English, then another browser (no cookie): the account remembers it.
    switch_button(page, "English").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.locator("html").get_attribute("dir") is None
    assert stat(page, "credits-inclus") == "500.00 DZD"
    context.close()

    other = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=PHONE)
    page = other.new_page()
    page.set_default_timeout(10_000)
    log_in(page, customer_email, "Se connecter")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert stat(page, "credits-restants") == "500.00 DZD"
    other.close()
