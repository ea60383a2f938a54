"""Every amount and action of the espace client's tables is in view, without a sideways
scroll, on a 360 px and a 390 px phone and on a 1 366 px laptop (issue 15)."""

import os
from datetime import date, datetime
from decimal import Decimal
from pprint import pformat
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress

from billing.metering import usage_record_batch
from billing.models import Payment
from billing.services.recharges import recharge_create, recharge_paid
from catalog.models import Plan
from tests.accounts.factories import PASSWORD, AccountFactory, ApiKeyFactory, MembershipFactory
from tests.billing.factories import BillingPeriodFactory, InvoiceFactory
from tests.browser.conftest import OUTPUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALGIERS = ZoneInfo("Africa/Algiers")
WIDTHS = (360, 390, 1366)
PAGES = (
    "/espace-client/",  # the bill so far
    "/espace-client/formule/apercu/?formule=expert",  # the upgrade preview
    "/espace-client/api/",
    "/espace-client/consommation/",
    "/espace-client/factures/",
    "/espace-client/factures/{invoice}/",
    "/espace-client/recharges/",
    "/espace-client/alertes/",  # no table: only the page's width is checked
    "/espace-client/equipe/",  # members: role, « Retirer », « Rendre titulaire »
    "/espace-client/journal/",  # no amount or action: only the page's width is checked
)

# Amounts and actions: what a customer must see without scrolling sideways.
OUT_OF_VIEW = """() => {
  const width = window.innerWidth;
  const wanted = document.querySelectorAll(
    'main td.num, main th.num, main table .btn, main table button, main table a[href$="/pdf/"]');
  const out = [];
  for (const element of wanted) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not displayed
    const wrap = element.closest('.table-wrap');
    const limit = wrap ? Math.min(width, wrap.getBoundingClientRect().right) : width;
    if (box.left < -0.5 || box.right > limit + 0.5) {
      out.push(`${element.tagName} « ${element.innerText.trim().slice(0, 40)} » `
               + `${Math.round(box.left)}–${Math.round(box.right)} / ${Math.round(limit)}`);
    }
  }
  return {
    out,
    checked: wanted.length,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: width,
    wraps: [...document.querySelectorAll('main .table-wrap')]
      .filter(wrap => wrap.scrollWidth > wrap.clientWidth + 1)
      .map(wrap => {
        const right = wrap.getBoundingClientRect().right;
        const wide = [...wrap.querySelectorAll('*')]
          .filter(e => e.getBoundingClientRect().right > right + 1
                       || e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
          .map(e => `${e.tagName}.${e.className} « ${e.innerText.slice(0, 20)} »`);
        return `${wrap.scrollWidth}>${wrap.clientWidth} ${wide.slice(0, 4).join(', ')}`;
      }),
  };
}"""


@pytest.fixture
def customer(freeze):
    freeze("2026-11-20 10:00 +01:00")
    account = AccountFactory(
        name="Société Algérienne de Services Numériques et de Conseil SARL",
        owner__email="nadia@exemple.dz",
        subscription__plan=Plan.objects.get(slug="starter"),
        subscription__pay_as_you_go=True,
    )
    EmailAddress.objects.create(user=account.owner, email=account.owner.email, verified=True)
    production = ApiKeyFactory(
        account=account, name="Production — serveur principal", monthly_budget=Decimal("1500")
    )
    ApiKeyFactory(account=account, name="Intégration continue")
    MembershipFactory(account=account, user__email="developpeuse.principale@exemple.dz")
    at = datetime(2026, 11, 18, 12, tzinfo=ALGIERS).isoformat()
    usage_record_batch(
        events=[
            {"idempotency_key": f"e{n}", "api_key": production.raw, "model": model,
             "input_tokens": 1_234_567, "output_tokens": 987_654, "occurred_at": at}
            for n, model in enumerate(["gpt-4.1", "claude-sonnet-4.5", "gemini-3-pro"])
        ]
        + [{"idempotency_key": "img", "api_key": production.raw, "model": "flux-schnell",
            "images": 123, "occurred_at": at}],
        now=datetime(2026, 11, 20, 10, tzinfo=ALGIERS),
    )  # fmt: skip
    invoice = InvoiceFactory(
        period=BillingPeriodFactory(account=account, month=date(2026, 10, 1)), sequence=900
    )
    recharge = recharge_create(account=account, amount=Decimal("10000"), by=account.owner)
    recharge_paid(recharge=recharge, method=Payment.Method.TRANSFER)
    recharge_create(account=account, amount=Decimal("250000"), by=account.owner)
    return account, invoice


@pytest.mark.parametrize("width", WIDTHS)
def test_amounts_and_actions_are_in_view_without_a_sideways_scroll(page, customer, width):
    _account, invoice = customer
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/comptes/login/")
    page.get_by_label("Adresse e-mail").fill("nadia@exemple.dz")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/espace-client/")

    problems = {}
    for path in PAGES:
        page.goto(path.format(invoice=invoice.number))
        found = page.evaluate(OUT_OF_VIEW)
        assert found["checked"] or "alertes" in path or "journal" in path, (
            f"{path}: no amount or action found"
        )
        failed = found["out"] or found["wraps"] or found["scrollWidth"] > found["innerWidth"]
        if failed:
            problems[path] = found
        if failed or os.environ.get("SCREENSHOTS"):  # SCREENSHOTS=1: every page, to look at
            OUTPUT.mkdir(exist_ok=True)
            name = path.strip("/").replace("/", "-").split("?")[0]
            page.screenshot(path=str(OUTPUT / f"tables-{width}-{name}.png"), full_page=True)

    assert not problems, pformat(problems, width=100)
