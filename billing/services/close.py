"""The monthly close: each account's invoice for the month just ended, then its next period.

Set-based, in chunks of accounts, with a constant number of queries per chunk. Each chunk is
its own short transaction, so a close killed halfway keeps what it finished, and running it
again (or twice at once) only does what is left:
- a period is invoiced under its row lock and only while open; closing it is in the same
  transaction as its invoice; Invoice is unique per period and per (account, month);
- invoice numbers come from the year's InvoiceSequence row, locked and incremented in the
  transaction that inserts the invoices, so a rolled-back chunk leaves no gap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import chain

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from catalog.models import Plan

from ..bill import Bill, BillCatalog, bills_load, tva_rate_for
from ..models import (
    BillingPeriod,
    BillingSettings,
    CloseFailure,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
)
from ..money import ZERO
from ..periods import Month, local_date
from .bulk import bulk_insert
from .invoices import (
    invoice_number,
    invoices_issued_notify,
    invoices_issued_notify_pending,
    seller_snapshot,
)
from .periods import periods_ensure

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1000


class CloseError(ValueError):
    """The month cannot be closed (not over yet)."""


@dataclass
class CloseResult:
    month: Month
    accounts: int = 0
    periods_closed: int = 0
    invoices: int = 0
    first_number: str = ""
    last_number: str = ""
    emails: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)  # (account id, error)

    def __str__(self) -> str:
        numbers = ""
        if self.invoices:
            last = f" à {self.last_number}" if self.last_number != self.first_number else ""
            numbers = f" ({self.first_number}{last})"
        return (
            f"Clôture {self.month} : {_count(self.accounts, 'compte')}, "
            f"{_count(self.periods_closed, 'période clôturée', 'périodes clôturées')}, "
            f"{_count(self.invoices, 'facture émise', 'factures émises')}{numbers}, "
            f"{_count(self.emails, 'e-mail envoyé', 'e-mails envoyés')}"
            + (
                f", {_count(len(self.failures), 'compte en échec', 'comptes en échec')}."
                if self.failures
                else "."
            )
        )


def _count(number: int, singular: str, plural: str = "") -> str:
    return f"{number} {singular if number < 2 else plural or singular + 's'}"


@dataclass
class _Catalog:
    """What every chunk needs, read once per close."""

    tva_rate: Decimal
    seller: dict[str, str]
    bill: BillCatalog

    @property
    def plans(self) -> dict[int, Plan]:
        return self.bill.plans

    @classmethod
    def load(cls) -> _Catalog:
        billing = BillingSettings.load()
        return cls(
            tva_rate=billing.tva_rate, seller=seller_snapshot(billing), bill=BillCatalog.load()
        )


def period_close(*, month: Month, chunk_size: int = DEFAULT_CHUNK_SIZE) -> CloseResult:
    """Close `month` for every account that existed before it ended. Safe to repeat or run twice
    at once; a run killed halfway is finished by the next one."""
    if month >= Month.current():
        raise CloseError(
            f"Le mois {month} n'est pas terminé : seul un mois passé peut être clôturé."
        )
    catalog = _Catalog.load()
    accounts = Account.objects.filter(created_at__lt=month.ends_at)
    # Accounts made later that have a period of that month all the same (set up by an operator
    # or a demo "as if" since an earlier day): usually none.
    late = list(
        BillingPeriod.objects.filter(
            month=month.first_day, account__created_at__gte=month.ends_at
        ).values_list("account_id", flat=True)
    )
    total = accounts.count() + len(late)
    result = CloseResult(month=month)
    logger.info(
        "Clôture %s : %d comptes à traiter",
        month,
        total,
        extra={"event": "close.start", "month": str(month), "accounts_total": total},
    )
    late_chunks = (late[start : start + chunk_size] for start in range(0, len(late), chunk_size))
    for account_ids in chain(_id_chunks(accounts, chunk_size), late_chunks):
        closed, invoices = _close_chunk(
            account_ids=account_ids, month=month, catalog=catalog, result=result
        )
        result.emails += invoices_issued_notify(invoices=invoices)
        result.accounts += len(account_ids)
        result.periods_closed += closed
        result.invoices += len(invoices)
        if invoices:
            result.first_number = result.first_number or invoices[0].number
            result.last_number = invoices[-1].number
        logger.info(
            "Clôture %s : %d/%d comptes, %d périodes clôturées, %d factures émises",
            month,
            result.accounts,
            total,
            result.periods_closed,
            result.invoices,
            extra={
                "event": "close.progress",
                "month": str(month),
                "accounts_done": result.accounts,
                "accounts_total": total,
                "periods_closed": result.periods_closed,
                "invoices": result.invoices,
            },
        )
    # The invoices of a run killed between its commit and its e-mails.
    result.emails += invoices_issued_notify_pending(month=month)
    _failures_resolve(month=month, failed=[account_id for account_id, _ in result.failures])
    logger.info(
        "%s",
        result,
        extra={
            "event": "close.done",
            "month": str(month),
            "accounts": result.accounts,
            "periods_closed": result.periods_closed,
            "invoices": result.invoices,
            "first_number": result.first_number,
            "last_number": result.last_number,
            "emails": result.emails,
            "failures": len(result.failures),
        },
    )
    return result


# A lost database connection stops the run (the task retries it); anything else is one account's.
_RUN_ERRORS = (OperationalError, InterfaceError)


def _close_chunk(
    *, account_ids: list[int], month: Month, catalog: _Catalog, result: CloseResult
) -> tuple[int, list[Invoice]]:
    """Close a chunk at once; if that fails, account by account, so that one account that
    cannot be closed is recorded for staff and never stops the others."""
    try:
        return _close_accounts(account_ids=account_ids, month=month, catalog=catalog)
    except _RUN_ERRORS:
        raise
    except Exception:
        logger.warning(
            "Clôture %s : échec d'un lot de %d comptes, reprise compte par compte",
            month,
            len(account_ids),
            exc_info=True,
            extra={
                "event": "close.chunk_failed",
                "month": str(month),
                "accounts": len(account_ids),
            },
        )
    closed, invoices = 0, []
    for account_id in account_ids:
        try:
            with transaction.atomic():
                one_closed, one_invoices = _close_accounts(
                    account_ids=[account_id], month=month, catalog=catalog
                )
        except _RUN_ERRORS:
            raise
        except Exception as error:  # recorded and listed for staff, never re-raised
            _failure_record(account_id=account_id, month=month, error=error)
            result.failures.append((account_id, _error_text(error)))
            continue
        closed += one_closed
        invoices += one_invoices
    return closed, invoices


def _close_accounts(
    *, account_ids: list[int], month: Month, catalog: _Catalog
) -> tuple[int, list[Invoice]]:
    periods_ensure(account_ids=account_ids, month=month, plans=catalog.plans)
    closed, invoices = _invoice_chunk(account_ids=account_ids, month=month, catalog=catalog)
    periods_ensure(
        account_ids=_existing_by(account_ids, month.next()),
        month=month.next(),
        plans=catalog.plans,
    )
    return closed, invoices


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}".strip()[:2000]


def _failure_record(*, account_id: int, month: Month, error: Exception) -> None:
    now = timezone.now()
    text = _error_text(error)
    logger.error(
        "Clôture %s : le compte %d n'a pas pu être clôturé (%s)",
        month,
        account_id,
        text,
        exc_info=error,
        extra={
            "event": "close.account_failed",
            "month": str(month),
            "account_id": account_id,
            "error": text,
        },
    )
    failure, created = CloseFailure.objects.get_or_create(
        account_id=account_id,
        month=month.first_day,
        defaults={"error": text, "first_failed_at": now, "last_failed_at": now},
    )
    if not created:
        CloseFailure.objects.filter(pk=failure.pk).update(
            error=text, last_failed_at=now, attempts=F("attempts") + 1, resolved_at=None
        )


def _failures_resolve(*, month: Month, failed: list[int]) -> None:
    """Failures of earlier runs whose account this run closed are resolved."""
    CloseFailure.objects.filter(
        month=month.first_day,
        resolved_at__isnull=True,
        account__periods__month=month.first_day,
        account__periods__status=BillingPeriod.Status.CLOSED,
    ).exclude(account_id__in=failed).update(resolved_at=timezone.now())


def periods_close_overdue(*, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[CloseResult]:
    """Close the month just ended and any earlier month that still has an open period.

    Cheap when everything is closed, so the daily housekeeping can call it to catch up on a
    monthly close that did not run (scheduler down on the 1st).
    """
    current = Month.current()
    months = {
        Month.of(day)
        for day in BillingPeriod.objects.filter(
            status=BillingPeriod.Status.OPEN, month__lt=current.first_day
        ).dates("month", "month")
    }
    months.add(current.previous())
    return [period_close(month=month, chunk_size=chunk_size) for month in sorted(months)]


def _existing_by(account_ids: list[int], month: Month) -> list[int]:
    """The accounts that existed by the end of `month` (those that already have a period in it
    need none)."""
    return list(
        Account.objects.filter(pk__in=account_ids, created_at__lt=month.ends_at).values_list(
            "pk", flat=True
        )
    )


def _id_chunks(accounts, chunk_size: int) -> Iterator[list[int]]:
    """Account ids in pk order, one chunk at a time (memory stays flat)."""
    last = 0
    while True:
        ids = list(
            accounts.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


@dataclass
class _Draft:
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
def _invoice_chunk(
    *, account_ids: list[int], month: Month, catalog: _Catalog
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
        _Draft(period_id=period_id, account_id=account_id, bill=bills[period_id])
        for period_id, account_id in periods
        if bills[period_id].ht > ZERO
    ]

    invoices = (
        _issue(drafts=to_issue, month=month, catalog=catalog, customers=customers)
        if to_issue
        else []
    )
    BillingPeriod.objects.filter(pk__in=period_ids).update(
        status=BillingPeriod.Status.CLOSED, closed_at=timezone.now()
    )
    return len(period_ids), invoices


def _issue(
    *, drafts: list[_Draft], month: Month, catalog: _Catalog, customers: dict[int, tuple]
) -> list[Invoice]:
    now = timezone.now()
    year = local_date(now).year
    first = _sequence_reserve(year=year, count=len(drafts))

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
            amount=line.amount,
        )
        for invoice, draft in zip(invoices, drafts, strict=True)
        for position, line in enumerate(draft.bill.lines, start=1)
    ]
    bulk_insert(InvoiceLine, lines)
    return invoices


def _sequence_reserve(*, year: int, count: int) -> int:
    """Reserve `count` consecutive numbers of `year`; returns the first. The row stays locked
    until the caller's transaction ends, so numbers are given in commit order, without gaps."""
    sequence, _ = InvoiceSequence.objects.select_for_update().get_or_create(year=year)
    first = sequence.last + 1
    sequence.last += count
    sequence.save(update_fields=["last"])
    return first


def close_month_default() -> Month:
    """The month that just ended."""
    return Month.current().previous()
