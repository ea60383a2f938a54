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
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain

import psycopg
from django.db import connection, transaction
from django.db.models import JSONField, Model, Sum
from django.utils import timezone

from accounts.models import Account
from catalog.models import AIModel, Plan

from ..models import (
    BillingPeriod,
    BillingSettings,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    PeriodFee,
    PlanChange,
    Subscription,
    UsageEvent,
)
from ..money import ZERO, round_money
from ..periods import Month, local_date
from .invoices import (
    fee_line_description,
    invoice_number,
    invoices_issued_notify,
    invoices_issued_notify_pending,
    overage_line_description,
    seller_snapshot,
)

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1000
HUNDRED = Decimal(100)


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

    def __str__(self) -> str:
        numbers = ""
        if self.invoices:
            last = f" à {self.last_number}" if self.last_number != self.first_number else ""
            numbers = f" ({self.first_number}{last})"
        return (
            f"Clôture {self.month} : {_count(self.accounts, 'compte')}, "
            f"{_count(self.periods_closed, 'période clôturée', 'périodes clôturées')}, "
            f"{_count(self.invoices, 'facture émise', 'factures émises')}{numbers}, "
            f"{_count(self.emails, 'e-mail envoyé', 'e-mails envoyés')}."
        )


def _count(number: int, singular: str, plural: str = "") -> str:
    return f"{number} {singular if number < 2 else plural or singular + 's'}"


@dataclass
class _Catalog:
    """What every chunk needs, read once per close."""

    tva_rate: Decimal
    seller: dict[str, str]
    plans: dict[int, Plan]
    models: dict[int, AIModel]
    model_rank: dict[int, int]

    @classmethod
    def load(cls) -> _Catalog:
        billing = BillingSettings.load()
        # Text models first, then images, each in catalog order.
        models = sorted(
            AIModel.objects.all(),
            key=lambda model: (model.kind != AIModel.Kind.TEXT, model.order, model.slug),
        )
        return cls(
            tva_rate=billing.tva_rate,
            seller=seller_snapshot(billing),
            plans={plan.pk: plan for plan in Plan.objects.all()},
            models={model.pk: model for model in models},
            model_rank={model.pk: rank for rank, model in enumerate(models)},
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
        periods_create_missing(account_ids=account_ids, month=month, plans=catalog.plans)
        closed, invoices = _invoice_chunk(account_ids=account_ids, month=month, catalog=catalog)
        periods_create_missing(
            account_ids=_existing_by(account_ids, month.next()),
            month=month.next(),
            plans=catalog.plans,
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
        },
    )
    return result


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


def periods_create_missing(
    *, account_ids: list[int], month: Month, plans: dict[int, Plan] | None = None
) -> int:
    """Create the `month` periods these accounts lack, as period_get_or_create would, in bulk:
    the formula in force on the 1st (scheduled downgrades due by then applied), its full
    credits and its monthly fee. Returns how many were created."""
    existing = set(
        BillingPeriod.objects.filter(account_id__in=account_ids, month=month.first_day).values_list(
            "account_id", flat=True
        )
    )
    missing = [account_id for account_id in account_ids if account_id not in existing]
    if not missing:
        return 0
    if plans is None:
        plans = {plan.pk: plan for plan in Plan.objects.all()}
    return _periods_create(account_ids=missing, month=month, plans=plans)


@transaction.atomic
def _periods_create(*, account_ids: list[int], month: Month, plans: dict[int, Plan]) -> int:
    now = timezone.now()
    # The subscription locks serialise with period_get_or_create and formula changes.
    plan_of = dict(_lock_subscriptions(account_ids))
    if len(plan_of) < len(account_ids):
        Subscription.objects.bulk_create(
            [
                Subscription(account_id=account_id, started_at=now)
                for account_id in account_ids
                if account_id not in plan_of
            ],
            ignore_conflicts=True,
        )
        plan_of = dict(_lock_subscriptions(account_ids))
    # Read again under the locks: a concurrent period_get_or_create may have made some.
    existing = set(
        BillingPeriod.objects.filter(account_id__in=account_ids, month=month.first_day).values_list(
            "account_id", flat=True
        )
    )
    account_ids = [account_id for account_id in account_ids if account_id not in existing]
    if not account_ids:
        return 0

    due = list(
        PlanChange.objects.filter(
            account_id__in=account_ids,
            status=PlanChange.Status.SCHEDULED,
            effective_at__lte=month.starts_at,
        ).values_list("pk", "account_id", "to_plan_id")
    )
    if due:
        by_plan: dict[int | None, list[int]] = defaultdict(list)
        for _, account_id, to_plan_id in due:
            by_plan[to_plan_id].append(account_id)
            plan_of[account_id] = to_plan_id
        for plan_id, ids in by_plan.items():
            Subscription.objects.filter(account_id__in=ids).update(plan_id=plan_id)
        PlanChange.objects.filter(pk__in=[pk for pk, _, _ in due]).update(
            status=PlanChange.Status.APPLIED
        )

    _bulk_insert(
        BillingPeriod,
        [
            BillingPeriod(
                account_id=account_id,
                month=month.first_day,
                plan_id=plan_of[account_id],
                included_credits=(
                    plans[plan_of[account_id]].included_credits if plan_of[account_id] else ZERO
                ),
                created_at=now,
            )
            for account_id in account_ids
        ],
        ignore_conflicts=True,
    )
    created = list(
        BillingPeriod.objects.filter(
            account_id__in=account_ids, month=month.first_day, plan__isnull=False
        ).values_list("pk", "plan_id")
    )
    # A period another process made already has its fee: the unique (period, first_day) holds.
    _bulk_insert(
        PeriodFee,
        [
            PeriodFee(
                period_id=period_id,
                plan_id=plan_id,
                first_day=month.first_day,
                days=month.days,
                amount=plans[plan_id].monthly_fee,
            )
            for period_id, plan_id in created
        ],
        ignore_conflicts=True,
    )
    return len(account_ids)


def _lock_subscriptions(account_ids: list[int]) -> list[tuple[int, int | None]]:
    return list(
        Subscription.objects.select_for_update(no_key=True)
        .filter(account_id__in=account_ids)
        .order_by("account_id")
        .values_list("account_id", "plan_id")
    )


@dataclass
class _Draft:
    period_id: int
    account_id: int
    lines: list[InvoiceLine]
    total_ht: Decimal = ZERO


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
    drafts = {
        period_id: _Draft(period_id=period_id, account_id=account_id, lines=[])
        for period_id, account_id in periods
    }

    for period_id, plan_id, first_day, days, amount in (
        PeriodFee.objects.filter(period_id__in=period_ids)
        .order_by("period_id", "first_day")
        .values_list("period_id", "plan_id", "first_day", "days", "amount")
    ):
        drafts[period_id].lines.append(
            InvoiceLine(
                kind=InvoiceLine.Kind.FEE,
                description=fee_line_description(
                    plan_name=catalog.plans[plan_id].name, first_day=first_day, days=days
                ),
                plan_id=plan_id,
                days=days,
                amount=round_money(amount),
            )
        )

    overage_rows = sorted(
        UsageEvent.objects.filter(period_id__in=period_ids, overage__gt=0)
        .values("period_id", "model_id")
        .annotate(
            overage=Sum("overage"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            images=Sum("images"),
        )
        .order_by(),
        key=lambda row: (row["period_id"], catalog.model_rank[row["model_id"]]),
    )
    for row in overage_rows:
        model = catalog.models[row["model_id"]]
        is_text = model.kind == AIModel.Kind.TEXT
        drafts[row["period_id"]].lines.append(
            InvoiceLine(
                kind=InvoiceLine.Kind.OVERAGE,
                description=overage_line_description(model_name=model.name),
                model_id=model.pk,
                input_tokens=row["input_tokens"] if is_text else None,
                output_tokens=row["output_tokens"] if is_text else None,
                images=None if is_text else row["images"],
                amount=round_money(row["overage"]),
            )
        )

    to_issue = []
    for draft in drafts.values():
        draft.total_ht = sum((line.amount for line in draft.lines), ZERO)
        if draft.total_ht > ZERO:
            to_issue.append(draft)

    invoices = _issue(drafts=to_issue, month=month, catalog=catalog) if to_issue else []
    BillingPeriod.objects.filter(pk__in=period_ids).update(
        status=BillingPeriod.Status.CLOSED, closed_at=timezone.now()
    )
    return len(period_ids), invoices


def _issue(*, drafts: list[_Draft], month: Month, catalog: _Catalog) -> list[Invoice]:
    now = timezone.now()
    customers = {
        row[0]: row[1:]
        for row in Account.objects.filter(pk__in=[draft.account_id for draft in drafts])
        .values_list(
            "pk",
            "name",
            "owner__email",
            "billing_address",
            "nif",
            "nis",
            "rc",
            "article",
            "tva_exempt",
        )
        .order_by()
    }
    year = local_date(now).year
    first = _sequence_reserve(year=year, count=len(drafts))

    invoices = []
    for offset, draft in enumerate(drafts):
        name, email, address, nif, nis, rc, article, tva_exempt = customers[draft.account_id]
        rate = ZERO if tva_exempt else catalog.tva_rate
        tva = round_money(draft.total_ht * rate / HUNDRED)
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
                customer_name=name,
                customer_email=email,
                customer_address=address,
                customer_nif=nif,
                customer_nis=nis,
                customer_rc=rc,
                customer_article=article,
                seller=catalog.seller,
                total_ht=draft.total_ht,
                tva_rate=rate,
                tva_amount=tva,
                total_ttc=draft.total_ht + tva,
            )
        )
    _bulk_insert(Invoice, invoices, pk_by="period_id")

    lines = []
    for invoice, draft in zip(invoices, drafts, strict=True):
        for position, line in enumerate(draft.lines, start=1):
            line.invoice = invoice
            line.position = position
            lines.append(line)
    _bulk_insert(InvoiceLine, lines)
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


def _bulk_insert(
    model: type[Model], objs: list[Model], *, ignore_conflicts: bool = False, pk_by: str = ""
) -> None:
    """bulk_create, in one statement of a few array parameters on PostgreSQL.

    Django's bulk_create binds every value of every row on the client, which is most of the
    close's time at 100 000 accounts; `INSERT … SELECT * FROM unnest(arrays)` binds one array
    per column on the server. `pk_by` names a unique column by which the new pks are given back.
    """
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, ignore_conflicts=ignore_conflicts, batch_size=500)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    values = [
        [
            field.get_db_prep_save(getattr(obj, field.attname), connection)
            if isinstance(field, JSONField)
            else getattr(obj, field.attname)
            for obj in objs
        ]
        for field in fields
    ]
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) "
    sql += f"SELECT * FROM unnest({arrays})"  # noqa: S608 - names from the model, values bound
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if pk_by:
        key = model._meta.get_field(pk_by).column
        sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}, {key}"
    connection.ensure_connection()
    # A server-binding cursor on Django's connection (same transaction, arrays sent as such),
    # wrapped like Django's own so that query logging, execute wrappers and errors still apply.
    raw = psycopg.Cursor(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(raw) as cursor:
        cursor.execute(sql, values)
        if pk_by:
            pks = {key: pk for pk, key in cursor.fetchall()}
            for obj in objs:
                obj.pk = pks[getattr(obj, pk_by)]
                obj._state.adding = False
