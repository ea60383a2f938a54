"""Billing factories. Rows are written as they are, without going through the services:
a UsageEventFactory row does not touch its period's totals (use usage_record_batch for that),
but it is added to the daily rollups, as the ledger adds every event it inserts.
"""

import hashlib
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from billing.metering import ledger_for
from billing.metering.rollups import rollups_of
from billing.models import (
    BillingPeriod,
    Invoice,
    InvoiceLine,
    PeriodFee,
    UsageDaily,
    UsageEvent,
)
from billing.periods import Month
from billing.services.invoices import fee_line_description
from billing.services.periods import period_get_or_create
from catalog.models import AIModel
from tests.accounts.factories import AccountFactory, ApiKeyFactory

ALGIERS = ZoneInfo("Africa/Algiers")
ZERO = Decimal("0")


class BillingPeriodFactory(factory.django.DjangoModelFactory):
    """`BillingPeriodFactory(account=…, month=date(2026, 11, 1))`: the account's formula credits.

    With a formula, a full-month PeriodFee is created too (as period_get_or_create does);
    pass `with_fee=False` to skip it.
    """

    class Meta:
        model = BillingPeriod
        django_get_or_create = ("account", "month")
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    month = date(2026, 11, 1)
    plan = factory.LazyAttribute(lambda o: o.account.subscription.plan)
    included_credits = factory.LazyAttribute(
        lambda o: o.plan.included_credits if o.plan is not None else ZERO
    )

    @factory.post_generation
    def with_fee(obj, create, extracted, **kwargs):
        if not create or extracted is False or obj.plan_id is None or obj.fees.exists():
            return
        month = Month.of(obj.month)
        PeriodFee.objects.create(
            period=obj,
            plan=obj.plan,
            first_day=month.first_day,
            days=month.days,
            amount=obj.plan.monthly_fee,
        )


def _gpt_41():
    return AIModel.objects.get(slug="gpt-4.1")


class UsageEventFactory(factory.django.DjangoModelFactory):
    """A charged event row. Default: gpt-4.1, 500 in + 1 500 out = 1.625 DZD, all on credits.

    Set `credits`, `overage`, `written_off` to split the cost (cost is their sum); the period
    is the account's period of `occurred_at` (created when missing), its totals untouched.
    """

    class Meta:
        model = UsageEvent

    account = factory.SubFactory(AccountFactory)
    api_key = factory.SubFactory(ApiKeyFactory, account=factory.SelfAttribute("..account"))
    model = factory.LazyFunction(_gpt_41)
    idempotency_key = factory.Sequence(lambda n: f"evt-{n}")
    fingerprint = factory.LazyAttribute(
        lambda o: hashlib.sha256(o.idempotency_key.encode()).hexdigest()
    )
    input_tokens = 500
    output_tokens = 1500
    images = 0
    occurred_at = datetime(2026, 11, 10, 12, 0, tzinfo=ALGIERS)
    received_at = factory.SelfAttribute("occurred_at")
    period = factory.LazyAttribute(
        lambda o: period_get_or_create(account=o.account, month=Month.of(o.occurred_at))
    )
    input_price = Decimal("250")
    output_price = Decimal("1000")
    image_price = None
    credits = Decimal("1.625")
    overage = ZERO
    written_off = ZERO
    cost = factory.LazyAttribute(lambda o: o.credits + o.overage + o.written_off)
    pay_as_you_go = False

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        event = super()._create(model_class, *args, **kwargs)
        # Written here past the ledger: its daily rollups kept as the ledger keeps them.
        ledger_for().upsert_rollups(rollups_of([event]))
        return event


class UsageDailyFactory(factory.django.DjangoModelFactory):
    """A daily rollup row written as it is (the ledger maintains them for recorded events).

    Default: 2026-11-10, gpt-4.1, one call of 500 in + 1 500 out = 1.625 DZD on credits; set
    `credits`, `prepaid`, `overage`, `written_off` to split the cost (cost is their sum)."""

    class Meta:
        model = UsageDaily

    account = factory.SubFactory(AccountFactory)
    api_key = factory.SubFactory(ApiKeyFactory, account=factory.SelfAttribute("..account"))
    model = factory.LazyFunction(_gpt_41)
    day = date(2026, 11, 10)
    events = 1
    input_tokens = 500
    output_tokens = 1500
    images = 0
    credits = Decimal("1.625")
    prepaid = ZERO
    overage = ZERO
    written_off = ZERO
    cost = factory.LazyAttribute(lambda o: o.credits + o.prepaid + o.overage + o.written_off)


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An issued invoice written directly (in the product only the close issues them).

    Default: November 2026, one Standard fee line of `total_ht` (1 000.00), TVA 19 %.
    `lines=[{...InvoiceLine fields}]` replaces the line (keep `total_ht` their sum).
    """

    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    period = factory.SubFactory(BillingPeriodFactory)
    account = factory.SelfAttribute("period.account")
    month = factory.SelfAttribute("period.month")
    year = 2026
    sequence = factory.Sequence(lambda n: n + 1)
    number = factory.LazyAttribute(lambda o: f"FA-{o.year}-{o.sequence:06d}")
    issued_at = datetime(2026, 12, 1, 0, 5, tzinfo=ALGIERS)
    due_date = date(2026, 12, 16)
    customer_name = factory.SelfAttribute("account.name")
    customer_email = factory.SelfAttribute("account.owner.email")
    customer_address = factory.SelfAttribute("account.billing_address")
    seller = factory.LazyFunction(
        lambda: {
            "name": "IAFactory SARL",
            "address": "Alger, Algérie",
            "nif": "001916099012345",
            "nis": "",
            "rc": "16/00-1234567 B 19",
            "article": "",
            "bank": "RIB : 002 00012 1234567890 12",
            "email": "facturation@iafactory.dz",
            "payment_terms": "Payable à réception de la facture, par virement bancaire.",
        }
    )
    total_ht = Decimal("1000.00")
    tva_rate = Decimal("19.00")
    tva_amount = factory.LazyAttribute(
        lambda o: (o.total_ht * o.tva_rate / 100).quantize(Decimal("0.01"))
    )
    total_ttc = factory.LazyAttribute(lambda o: o.total_ht + o.tva_amount)

    @factory.post_generation
    def lines(obj, create, extracted, **kwargs):
        if not create:
            return
        month = Month.of(obj.month)
        lines = extracted or [
            {
                "kind": InvoiceLine.Kind.FEE,
                "description": fee_line_description(
                    plan_name="Standard", first_day=month.first_day, days=month.days
                ),
                "days": month.days,
                "amount": obj.total_ht,
            }
        ]
        for position, line in enumerate(lines, start=1):
            InvoiceLine.objects.create(invoice=obj, position=position, **line)
