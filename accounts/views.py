"""The espace client's identity pages: every view works on the request's current account only.
The formula, credits, API keys and pay-as-you-go pages are billing's (billing/views/espace.py)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import services
from .forms import BillingDetailsForm
from .permissions import requires

# Billing details


@requires("billing_details.manage")
@require_http_methods(["GET", "POST"])
def coordonnees(request):
    """The name, address and identifiers printed on the customer's invoices."""
    account = request.account
    if request.method == "POST":
        form = BillingDetailsForm(request.POST)
        if form.is_valid():
            services.account_billing_update(account=account, **form.cleaned_data)
            messages.success(
                request,
                "Coordonnées de facturation enregistrées : elles figureront sur vos "
                "prochaines factures.",
            )
            return redirect("accounts:dashboard")
    else:
        form = BillingDetailsForm(
            initial={
                field: getattr(account, field)
                for field in ["name", "billing_address", "nif", "nis", "rc", "article"]
            }
        )
    return render(
        request,
        "accounts/coordonnees.html",
        {"active": "coordonnees", "account": account, "form": form},
    )
