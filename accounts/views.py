"""The espace client's identity pages: every view works on the request's current account only.
The formula, credits, API keys and pay-as-you-go pages are billing's (billing/views/espace.py
and keys.py)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from . import services
from .forms import BillingDetailsForm
from .language import supported
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
                _(
                    "Coordonnées de facturation enregistrées : elles figureront sur vos "
                    "prochaines factures."
                ),
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


# Language


@require_POST
def language_set(request):
    """The header's switch: Django's set_language (cookie, back to `next`), and for a logged-in
    user the choice saved on the account, which e-mails and invoices follow (issue 15)."""
    response = set_language(request)
    language = supported(request.POST.get("language"))
    if not language:
        # Django accepts any language it has a catalog for; the portal offers three.
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    elif request.user.is_authenticated:
        services.user_language_set(user=request.user, language=language)
    return response
