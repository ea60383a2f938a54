"""Every page works under the content security policy: the browser reports no violation."""

import pytest

from accounts.models import User
from tests.accounts.factories import PASSWORD, AccountFactory, ApiKeyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMER_PAGES = [
    "/espace-client/",
    "/espace-client/formule/",
    "/espace-client/api/",
    "/espace-client/consommation/",
    "/espace-client/factures/",
]
STAFF_PAGES = ["/admin/", "/admin/catalog/aimodel/1/change/", "/admin/accounts/account/"]
PUBLIC_PAGES = ["/tarifs/", "/documentation-api/", "/api/docs/", "/comptes/login/"]


def _violations(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def _log_in(page, email: str) -> None:
    page.goto("/comptes/login/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_public_customer_and_staff_pages_raise_no_csp_violation(page):
    from allauth.account.models import EmailAddress

    account = AccountFactory(owner__email="csp@example.dz")
    EmailAddress.objects.create(user=account.owner, email="csp@example.dz", verified=True)
    ApiKeyFactory(account=account)
    staff = User.objects.create_superuser("staff-csp@iafactory.dz", PASSWORD)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True)
    violations = _violations(page)

    for path in PUBLIC_PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    _log_in(page, "csp@example.dz")
    for path in CUSTOMER_PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.goto("/admin/login/")
    page.get_by_label("Adresse e-mail").fill(staff.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    for path in STAFF_PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")

    assert violations == []
    assert page.locator("#swagger-ui").count() == 0  # we ended on the admin, not the docs
