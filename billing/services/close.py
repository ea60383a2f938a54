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
from itertools import chain

from django.db import InterfaceError, OperationalError, transaction

from accounts.models import Account

from ..models import (
    BillingPeriod,
    Invoice,
)
from ..periods import Month
from .close_failures import close_error_text, close_failure_record, close_failures_resolve
from .close_invoicing import CloseCatalog, periods_invoice
from .invoices import (
    invoices_issued_notify,
    invoices_issued_notify_pending,
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


def period_close(*, month: Month, chunk_size: int = DEFAULT_CHUNK_SIZE) -> CloseResult:
    """Close `month` for every account that existed before it ended. Safe to repeat or run twice
    at once; a run killed halfway is finished by the next one."""
    if month >= Month.current():
        raise CloseError(
            f"Le mois {month} n'est pas terminé : seul un mois passé peut être clôturé."
        )
    catalog = CloseCatalog.load()
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
    close_failures_resolve(month=month, failed=[account_id for account_id, _ in result.failures])
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
    *, account_ids: list[int], month: Month, catalog: CloseCatalog, result: CloseResult
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
            close_failure_record(account_id=account_id, month=month, error=error)
            result.failures.append((account_id, close_error_text(error)))
            continue
        closed += one_closed
        invoices += one_invoices
    return closed, invoices


def _close_accounts(
    *, account_ids: list[int], month: Month, catalog: CloseCatalog
) -> tuple[int, list[Invoice]]:
    periods_ensure(account_ids=account_ids, month=month, plans=catalog.plans)
    closed, invoices = periods_invoice(account_ids=account_ids, month=month, catalog=catalog)
    periods_ensure(
        account_ids=_existing_by(account_ids, month.next()),
        month=month.next(),
        plans=catalog.plans,
    )
    return closed, invoices


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


def close_month_default() -> Month:
    """The month that just ended."""
    return Month.current().previous()
