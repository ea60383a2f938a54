"""Espace client: the account's usage of a month, per model, per key and per day."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.selectors import account_for_user

from ..periods import Month
from ..selectors import month_usage, usage_months
from ..usage_chart import daily_cost_chart


@require_GET
@login_required
@vary_on_headers("HX-Request")
def usage_page(request):
    account = account_for_user(request.user)
    months = usage_months(account=account)
    try:
        month = Month.parse(request.GET.get("mois") or str(Month.current()))
    except ValueError:
        month = Month.current()
    usage = month_usage(account=account, month=month)
    context = {
        "active": "usage",
        "months": months,
        "month": month,
        "usage": usage,
        "chart": daily_cost_chart(month=month, rows=usage.per_day),
    }
    template = "billing/partials/_usage_month.html" if request.htmx else "billing/usage.html"
    return render(request, template, context)


urlpatterns = [path("espace-client/consommation/", usage_page, name="usage")]
