"""The close's invoicing of a chunk: the open periods of a month locked, billed by the same
function as the bill so far, numbered without gaps, and closed, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from catalog.models import Plan

from ..bill import Bill, BillCatalog, bills_load, tva_rate_for
from ..models import BillingPeriod, BillingSettings, Invoice, InvoiceLine, InvoiceSequence
from ..money import ZERO
from ..periods import Month, local_date
from .bulk import bulk_insert
from .invoices import invoice_number, seller_snapshot


@dataclass
class CloseCatalog:
    """What every chunk needs, read once per close."""

    tva_rate: Decimal
    seller: dict[str, str]
    bill: BillCatalog

    @property
    def plans(self) -> dict[int, Plan]:
        return self.bill.plans

    @classmethod
    def load(cls) -> CloseCatalog:
        billing = BillingSettings.load()
        return cls(
            tva_rate=billing.tva_rate, seller=seller_snapshot(billing), bill=BillCatalog.load()
        )


@dataclass
class InvoiceDraft:
    period_id: int
    account_id: int
    bill: Bill


# What an invoice copies of its customer, as it is on the day it is issued.
_CUSTOMER_FIELDS = (
    "name",
    "owner__email",
    "billing_address",
    "nif",
    "nis",
    "rc",
    "article",
    "tva_exempt",
)


@transaction.atomic
def periods_invoice(
    *, account_ids: list[int], month: Month, catalog: CloseCatalog
) -> tuple[int, list[Invoice]]:
    """Invoice and close the chunk's open periods of `month`: (periods closed, invoices)."""
    periods = list(
        BillingPeriod.objects.select_for_update(no_key=True)
        .filter(account_id__in=account_ids, month=month.first_day, status=BillingPeriod.Status.OPEN)
        .order_by("pk")
        .values_list("pk", "account_id")
    )
    if not periods:
        return 0, []
    period_ids = [period_id for period_id, _ in periods]
    customers = {
        row[0]: row[1:]
        for row in Account.objects.filter(pk__in=[account_id for _, account_id in periods])
        .values_list("pk", *_CUSTOMER_FIELDS)
        .order_by()
    }
    tva_rates = {
        account_id: tva_rate_for(exempt=customer[-1], rate=catalog.tva_rate)
        for account_id, customer in customers.items()
    }
    # The same function as the bill so far the customer saw during the month.
    bills = bills_load(periods=periods, month=month, tva_rates=tva_rates, catalog=catalog.bill)
    to_issue = [
        InvoiceDraft(period_id=period_id, account_id=account_id, bill=bills[period_id])
        for period_id, account_id in periods
        if bills[period_id].ht > ZERO
    ]

    invoices = (
        invoices_issue(drafts=to_issue, month=month, catalog=catalog, customers=customers)
        if to_issue
        else []
    )
    BillingPeriod.objects.filter(pk__in=period_ids).update(
        status=BillingPeriod.Status.CLOSED, closed_at=timezone.now()
    )
    return len(period_ids), invoices


def invoices_issue(
    *, drafts: list[InvoiceDraft], month: Month, catalog: CloseCatalog, customers: dict[int, tuple]
) -> list[Invoice]:
    now = timezone.now()
    year = local_date(now).year
    first = invoice_sequence_reserve(year=year, count=len(drafts))

    invoices = []
    for offset, draft in enumerate(drafts):
        name, email, address, nif, nis, rc, article, _ = customers[draft.account_id]
        bill = draft.bill
        invoices.append(
            Invoice(
                account_id=draft.account_id,
                period_id=draft.period_id,
                month=month.first_day,
                number=invoice_number(year=year, sequence=first + offset),
                year=year,
                sequence=first + offset,
                status=Invoice.Status.ISSUED,
                issued_at=now,
                due_date=local_date(now) + timedelta(days=catalog.seller["payment_term_days"]),
                customer_name=name,
                customer_email=email,
                customer_address=address,
                customer_nif=nif,
                customer_nis=nis,
                customer_rc=rc,
                customer_article=article,
                seller=catalog.seller,
                total_ht=bill.ht,
                tva_rate=bill.tva_rate,
                tva_amount=bill.tva,
                total_ttc=bill.ttc,
            )
        )
    bulk_insert(Invoice, invoices, pk_by="period_id")

    lines = [
        InvoiceLine(
            invoice=invoice,
            position=position,
            kind=line.kind,
            description=line.description,
            plan_id=line.plan_id,
            model_id=line.model_id,
            days=line.days,
            input_tokens=line.input_tokens,
            output_tokens=line.output_tokens,
            images=line.images,
            unit=line.unit,
            unit_price=line.unit_price,
            billed_quantity=line.billed_quantity,
            amount=line.amount,
        )
        for invoice, draft in zip(invoices, drafts, strict=True)
        for position, line in enumerate(draft.bill.lines, start=1)
    ]
    bulk_insert(InvoiceLine, lines)
    return invoices


def invoice_sequence_reserve(*, year: int, count: int) -> int:
    """Reserve `count` consecutive numbers of `year`; returns the first. The row stays locked
    until the caller's transaction ends, so numbers are given in commit order, without gaps."""
    sequence, _ = InvoiceSequence.objects.select_for_update().get_or_create(year=year)
    first = sequence.last + 1
    sequence.last += count
    sequence.save(update_fields=["last"])
    return first
