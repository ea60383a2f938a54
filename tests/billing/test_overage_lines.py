"""An overage line can be checked by hand: quantity beyond the credits × unit price = amount,
one line per unit price, whatever the events and price changes (issue 15)."""

import shutil
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.bill import OVERAGE, bill_so_far
from billing.metering import usage_record_batch
from billing.models import BillingPeriod, Invoice, UsageEvent
from billing.money import round_money
from billing.overage import (
    IMAGE,
    INPUT,
    OUTPUT,
    EventCharge,
    event_overage_quantities,
    quantity_label,
    unit_price_label,
)
from billing.periods import Month
from billing.services.close import period_close
from catalog.models import AIModel, ModelPrice
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
START = datetime(2026, 11, 2, tzinfo=ALGIERS)
CHANGE = datetime(2026, 11, 15, tzinfo=ALGIERS)
NOW = datetime(2026, 11, 30, 12, tzinfo=ALGIERS)
MILLION = Decimal(1_000_000)


def event(**fields) -> EventCharge:
    defaults = {
        "input_tokens": 0,
        "output_tokens": 0,
        "images": 0,
        "input_price": None,
        "output_price": None,
        "image_price": None,
        "covered": Decimal(0),
    }
    return EventCharge(**(defaults | fields))


@pytest.mark.parametrize(
    ("charge", "expected"),
    [
        # Wholly in overage: its whole counts.
        (
            event(input_tokens=500, output_tokens=1500, input_price=Decimal(250),
                  output_price=Decimal(1000), overage=Decimal("1.625")),
            {INPUT: Decimal(500), OUTPUT: Decimal(1500)},
        ),
        # The event: 300 001 in (75.00025) + 123 457 out (123.457); 150 on the credits
        # pays the input and 74.99975 of the output: 48.45725 overage = 48 457.25 output tokens.
        (
            event(input_tokens=300_001, output_tokens=123_457, input_price=Decimal(250),
                  output_price=Decimal(1000), covered=Decimal(150), overage=Decimal("48.45725")),
            {OUTPUT: Decimal("48457.25")},
        ),
        # Credits ran out inside the input; the end of the output written off (the ceiling).
        (
            event(input_tokens=1000, output_tokens=1000, input_price=Decimal(250),
                  output_price=Decimal(1000), covered=Decimal("0.05"), overage=Decimal("0.7")),
            {INPUT: Decimal(800), OUTPUT: Decimal(500)},
        ),
        # 5 DZD of an 8 DZD image beyond the credits.
        (event(images=1, image_price=Decimal(8), covered=Decimal(3), overage=Decimal(5)),
         {IMAGE: Decimal("0.625")}),
        (event(images=1, image_price=Decimal(8), overage=Decimal(0)), {}),
    ],
)  # fmt: skip
def test_the_overage_slice_pays_input_tokens_first_then_output(charge, expected):
    assert event_overage_quantities(charge) == expected


def test_quantities_and_unit_prices_read_as_the_customer_checks_them():
    assert quantity_label(unit=OUTPUT, quantity=Decimal(48457)) == "48\u00a0457 tokens"
    assert quantity_label(unit=IMAGE, quantity=Decimal("2.625")) == "2,625 images"
    assert quantity_label(unit=IMAGE, quantity=Decimal(1)) == "1 image"
    assert unit_price_label(unit=INPUT, unit_price=Decimal(250)) == "250,00\u00a0DZD / 1M tokens"
    assert unit_price_label(unit=IMAGE, unit_price=Decimal("9.125")) == "9,125\u00a0DZD / image"


text_or_image = st.tuples(
    st.sampled_from(["gpt-4.1", "deepseek-v3", "flux-schnell"]),
    st.integers(1, 3),  # images
    st.integers(0, 400_000),  # input tokens
    st.integers(1, 400_000),  # output tokens
    st.integers(0, 27 * 24) | st.integers(13 * 24, 13 * 24 + 23),  # hours after the 2nd
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    credits=st.sampled_from(["0", "3", "12.5", "40"]),
    new_prices=st.tuples(
        st.sampled_from(["260", "249.9999", "312.5"]),
        st.sampled_from(["1000.0001", "1100", "999"]),
        st.sampled_from(["9.5", "8.3333", "7"]),
    ),
    events=st.lists(text_or_image, min_size=1, max_size=12),
    # At midnight, or during the 15th: that day's events are read one by one.
    change_at=st.sampled_from([CHANGE, CHANGE + timedelta(hours=13, minutes=30)]),
)
def test_every_overage_line_is_quantity_times_unit_price(
    freeze, credits, new_prices, events, change_at
):
    freeze(NOW)
    with transaction.atomic():
        check_lines(Decimal(credits), new_prices, events, change_at)
        transaction.set_rollback(True)


def check_lines(credits, new_prices, events, change_at):
    # Given prices changed on the 15th, and an account whose credits the events run past.
    input_price, output_price, image_price = (Decimal(price) for price in new_prices)
    for slug, prices in (
        ("gpt-4.1", {"input_per_million": input_price, "output_per_million": output_price}),
        ("flux-schnell", {"per_image": image_price}),
    ):
        ModelPrice.objects.create(
            model=AIModel.objects.get(slug=slug), effective_at=CHANGE, **prices
        )
    plan = PlanFactory(included_credits=credits)
    account = AccountFactory(subscription__plan=plan, subscription__pay_as_you_go=True)
    key = ApiKeyFactory(account=account)
    batch = [
        {
            "idempotency_key": f"e{number}",
            "api_key": key.raw,
            "model": model,
            **({"images": images} if model == "flux-schnell" else
               {"input_tokens": inputs, "output_tokens": outputs}),
            "occurred_at": (START + timedelta(hours=hours)).isoformat(),
        }
        for number, (model, images, inputs, outputs, hours) in enumerate(events)
    ]  # fmt: skip

    # When the bill so far (the close's own code) is drafted.
    assert usage_record_batch(events=batch, now=NOW).rejected == 0
    period = BillingPeriod.objects.get(account=account)
    bill = bill_so_far(period=period)

    # Then each overage line is its quantity × unit price rounded to the centime...
    lines = [line for line in bill.lines if line.kind == OVERAGE]
    for line in lines:
        per = 1 if line.unit == IMAGE else MILLION
        assert line.amount == round_money(line.billed_quantity * line.unit_price / per)
    # ...one line per model, unit and price, each price the one its events were charged at...
    keys = [(line.model_id, line.unit, line.unit_price) for line in lines]
    assert len(keys) == len(set(keys))
    charged = {
        (event.model_id, unit, price)
        for event in UsageEvent.objects.filter(period=period, overage__gt=0)
        for unit, price in (
            (INPUT, event.input_price), (OUTPUT, event.output_price), (IMAGE, event.image_price)
        )
        if price
    }  # fmt: skip
    assert set(keys) <= charged
    # ...the lines make the invoice's overage, within a centime per line of the ledger's exact
    # overage (half a token or a thousandth of an image per line, then each line's rounding).
    fees = sum(line.amount for line in bill.lines if line.kind != OVERAGE)
    assert bill.ht - fees == sum(line.amount for line in lines)
    assert abs(sum(line.amount for line in lines) - period.overage) <= Decimal("0.01") * max(
        1, len(lines)
    )


def test_the_invoice_page_and_pdf_show_quantity_unit_price_and_the_credits_note(
    freeze, client, tmp_path
):
    # Given the event on a Starter account: 500.00 of credits, 300 001 in + 123 457 out
    # on gpt-4.1 after 351.543 already used.
    freeze(NOW)
    account = AccountFactory(
        subscription__plan=PlanFactory(included_credits=Decimal(500)),
        subscription__pay_as_you_go=True,
    )
    key = ApiKeyFactory(account=account)
    at = START.isoformat()
    usage_record_batch(
        events=[
            {"idempotency_key": "before", "api_key": key.raw, "model": "gpt-4.1",
             "input_tokens": 0, "output_tokens": 351_543, "occurred_at": at},
            {"idempotency_key": "issue", "api_key": key.raw, "model": "gpt-4.1",
             "input_tokens": 300_001, "output_tokens": 123_457, "occurred_at": at},
        ],
        now=NOW,
    )  # fmt: skip
    freeze("2026-12-01 00:05 +01:00")
    period_close(month=Month(2026, 11))
    invoice = Invoice.objects.get(account=account)
    client.force_login(account.owner)

    # When the customer opens it.
    page = client.get(f"/espace-client/factures/{invoice.number}/").content.decode()

    # Then the 148.457 DZD of credits left paid the input (75.00025) and 73.45675 of the
    # output; the other 50 000.25 output tokens, 50 000 billed at 1 000 DZD / 1M = 50.00.
    line = invoice.lines.get(kind="overage")
    assert (line.unit, line.billed_quantity, line.unit_price, line.amount) == (
        "output",
        Decimal("50000"),
        Decimal("1000"),
        Decimal("50.00"),
    )
    assert "50\u00a0000 tokens" in page
    assert "1\u00a0000,00\u00a0DZD / 1M tokens" in page
    assert "500,00 DZD utilisés sur 500,00 DZD" in page.replace("\u00a0", " ")
    if shutil.which("pdftotext"):
        path = tmp_path / "facture.pdf"
        path.write_bytes(client.get(f"/espace-client/factures/{invoice.number}/pdf/").content)
        text = subprocess.run(  # noqa: S603
            [shutil.which("pdftotext"), "-raw", str(path), "-"],
            capture_output=True, text=True, check=True,
        ).stdout.replace("\u00a0", " ")  # fmt: skip
        assert "50 000 tokens" in text
        assert "1 000,00 DZD / 1M" in text  # « tokens » on the cell's next line
