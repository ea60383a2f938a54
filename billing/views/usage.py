"""Espace client: the account's usage of a month (or a range), per model, per key and per day,
and its CSV export. Every figure comes from the daily rollups."""

import csv
from collections.abc import Iterator
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.permissions import requires

from ..forms import UsageFilterForm
from ..periods import Month
from ..selectors import (
    USAGE_CSV_HEADER,
    UsageFilters,
    key_budgets,
    month_usage,
    usage_export_rows,
    usage_months,
)
from ..usage_chart import daily_cost_chart

EXPORT_CHUNK_ROWS = 500


@require_GET
@requires("usage.view")
@vary_on_headers("HX-Request")
def usage_page(request):
    account = request.account
    form = UsageFilterForm(request.GET or None, account=account)
    month = form.month
    filters = form.filters()
    usage = month_usage(account=account, month=month, filters=filters)
    budget_month = Month.of(filters.end) if form.is_range else month
    context = {
        "active": "usage",
        "form": form,
        "months": usage_months(account=account),
        "month": month,
        "filters": filters,
        "is_range": form.is_range,
        "usage": usage,
        "budgets": key_budgets(account=account, month=budget_month),
        "budget_month": budget_month,
        "export_query": request.GET.urlencode(),
        "chart": daily_cost_chart(
            rows=usage.per_day, start=filters.start, days=(filters.end - filters.start).days + 1
        ),
    }
    template = "billing/partials/_usage_month.html" if request.htmx else "billing/usage.html"
    return render(request, template, context)


def csv_amount(value: Decimal) -> str:
    """Exact amount with at least two decimals and a decimal comma: « 1,625 », « 32,00 »."""
    value = value.normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}".replace(".", ",")


class _Line:
    """csv.writer's file: hands back each written line."""

    def write(self, line: str) -> str:
        return line


def usage_csv_lines(rows) -> Iterator[str]:
    """The export: BOM, French header, `;`-separated lines, sent EXPORT_CHUNK_ROWS at a time."""
    writer = csv.writer(_Line(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(USAGE_CSV_HEADER)
    chunk = []
    for day, model, prefix, name, *counts_and_amounts in rows:
        counts, amounts = counts_and_amounts[:4], counts_and_amounts[4:]
        chunk.append(
            writer.writerow(
                [day.isoformat(), model, prefix, name, *counts, *(csv_amount(a) for a in amounts)]
            )
        )
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _export_name(filters: UsageFilters) -> str:
    return f"consommation-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"


@require_GET
@requires("usage.view")
def usage_export(request):
    account = request.account
    filters = UsageFilterForm(request.GET or None, account=account).filters()
    response = StreamingHttpResponse(
        usage_csv_lines(usage_export_rows(filters.rows(account=account))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name(filters)}"'
    return response


urlpatterns = [
    path("espace-client/consommation/", usage_page, name="usage"),
    path("espace-client/consommation/export.csv", usage_export, name="usage_export"),
]
