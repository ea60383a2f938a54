"""The espace client's API keys and pay-as-you-go page: keys created, renamed, budgeted and
revoked, and the pay-as-you-go switch with its ceiling, on the request's current account as its
member's role allows (accounts/permissions.py). URL names in the "accounts" namespace."""

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import services
from accounts.forms import ApiKeyCreateForm, ApiKeyUpdateForm, PaygForm
from accounts.models import ApiKey
from accounts.permissions import key_for_member, member_can, requires
from accounts.selectors import api_keys_for_account
from iafactory.formatting import format_dzd

from ..money import ZERO
from ..periods import BILLING_TZ, local_date
from ..selectors import account_overview, key_spends
from ..services.pay_as_you_go import KEEP, payg_default_cap, payg_set
from ..services.subscriptions import (
    SubscriptionError,
)
from .espace_common import template_for

# API keys and pay-as-you-go


@dataclass(frozen=True)
class KeyRow:
    """A key as the API page lists it: this month's spend against its budget."""

    key: ApiKey
    spent: Decimal
    form: ApiKeyUpdateForm | None = None
    manageable: bool = False  # the member may edit and revoke it (a developer: its own)

    @property
    def budget_percent(self) -> int:
        budget = self.key.monthly_budget
        if not budget:
            return 0
        return min(100, int(self.spent * 100 / budget))

    @property
    def budget_reached(self) -> bool:
        budget = self.key.monthly_budget
        return budget is not None and self.spent >= budget

    @property
    def expired(self) -> bool:
        return self.key.expires_at is not None and self.key.expires_at <= timezone.now()


def _key_initial(key: ApiKey) -> dict:
    expires = key.expires_at
    return {
        "name": key.name,
        "budget": key.monthly_budget,
        "expires_on": timezone.localtime(expires, BILLING_TZ).date() if expires else None,
    }


def _api_context(request, *, bound_form: tuple[int, ApiKeyUpdateForm] | None = None, **extra):
    account, membership = request.account, request.membership
    overview = account_overview(account=account)
    spends = key_spends(account=account, month=overview.month)
    any_key = member_can(membership, "keys.manage_any")
    rows = []
    for key in api_keys_for_account(account=account):
        form = None
        manageable = any_key or key.created_by_id == membership.user_id
        if key.is_active and manageable:
            if bound_form is not None and bound_form[0] == key.pk:
                form = bound_form[1]
            else:
                form = ApiKeyUpdateForm(initial=_key_initial(key), auto_id=f"cle{key.pk}_%s")
        rows.append(
            KeyRow(key=key, spent=spends.get(key.pk, ZERO), form=form, manageable=manageable)
        )
    payg_form = extra.pop("payg_form", None) or PaygForm(
        initial={
            "cap": payg_default_cap(account=account),
            "no_cap": overview.subscription.pay_as_you_go and overview.payg_cap is None,
        }
    )
    context = {
        "active": "api",
        "o": overview,
        "keys": rows,
        "form": ApiKeyCreateForm(),
        "payg_form": payg_form,
    }
    context.update(extra)
    return context


@requires("keys.view")
@require_GET
def api(request):
    return render(request, "accounts/api.html", _api_context(request))


@never_cache  # the response carries the key's secret
@requires("keys.manage")
@require_POST
@vary_on_headers("HX-Request")
def api_key_create(request):
    """Create a key and show its secret in this response only: it is never stored or shown again."""
    account = request.account
    form = ApiKeyCreateForm(request.POST)
    extra = {"form": form}
    if form.is_valid():
        key, raw = services.api_key_create(
            account=account, name=form.cleaned_data["name"], by=request.user
        )
        # The secret box says it was created; a flash message would repeat it.
        extra = {"new_key": key, "raw_key": raw}
    return render(
        request,
        template_for(request, "accounts/api.html", "accounts/partials/_api_keys.html"),
        _api_context(request, **extra),
    )


@requires("keys.manage")
@require_POST
@vary_on_headers("HX-Request")
def api_key_revoke(request, key_id: int):
    account = request.account
    key = key_for_member(request.membership, key_id)
    key = services.api_key_revoke(account=account, key_id=key.pk, by=request.user)
    messages.success(
        request,
        _("La clé « %(name)s » (%(prefix)s…) est révoquée : elle ne fonctionne plus.")
        % {"name": key.name, "prefix": key.prefix},
    )
    if request.htmx:
        return render(request, "accounts/partials/_api_keys.html", _api_context(request))
    return redirect("accounts:api")


@requires("keys.manage")
@require_POST
@vary_on_headers("HX-Request")
def api_key_update(request, key_id: int):
    """Rename a key, set its monthly budget and its expiry date."""
    key = key_for_member(request.membership, key_id)
    if key.revoked_at is not None:
        raise Http404("Clé introuvable.")
    form = ApiKeyUpdateForm(request.POST, auto_id=f"cle{key.pk}_%s")
    if form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        expires_at = (
            datetime.combine(expires_on, time.min, tzinfo=BILLING_TZ) if expires_on else None
        )
        if expires_on is not None and expires_on <= local_date(timezone.now()):
            form.add_error("expires_on", _("Choisissez une date à venir."))
        else:
            try:
                key = services.api_key_update(
                    key=key,
                    name=form.cleaned_data["name"],
                    budget=form.cleaned_data["budget"],
                    expires_at=expires_at,
                    by=request.user,
                )
            except services.ApiKeyError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _("Clé « %(name)s » (%(prefix)s…) mise à jour.")
                    % {"name": key.name, "prefix": key.prefix},
                )
                if request.htmx:
                    return render(
                        request, "accounts/partials/_api_keys.html", _api_context(request)
                    )
                return redirect("accounts:api")
    return render(
        request,
        template_for(request, "accounts/api.html", "accounts/partials/_api_keys.html"),
        _api_context(request, bound_form=(key.pk, form)),
        status=200 if request.htmx else 400,
    )


def _payg_message(subscription) -> str:
    if not subscription.pay_as_you_go:
        return _(
            "Pay as you go désactivé : l'API s'arrêtera quand vos crédits du mois seront épuisés."
        )
    if subscription.payg_cap is None:
        return _(
            "Pay as you go activé sans plafond : au-delà de vos crédits, l'API reste disponible "
            "et la consommation est facturée en fin de mois."
        )
    message = _(
        "Pay as you go activé : au-delà de vos crédits, l'API reste disponible jusqu'à "
        "%(cap)s de dépassement ce mois-ci, facturés en fin de mois."
    )
    return message % {"cap": format_dzd(subscription.payg_cap)}


@requires("payg.manage")
@require_POST
@vary_on_headers("HX-Request")
def payg(request):
    account = request.account
    form = PaygForm(request.POST)
    extra = {}
    if not form.is_valid():
        extra["payg_form"] = form  # its errors are shown beside the fields
    else:
        enabled = form.cleaned_data["enabled"]
        try:
            subscription = payg_set(
                account=account,
                enabled=enabled,
                cap=form.cleaned_data["cap"] if enabled else KEEP,
                by=request.user,
            )
        except SubscriptionError as error:
            form.add_error("cap", str(error))
            extra["payg_form"] = form
        else:
            messages.success(request, _payg_message(subscription))
    if request.htmx:
        return render(request, "accounts/partials/_payg.html", _api_context(request, **extra))
    if extra:
        return render(request, "accounts/api.html", _api_context(request, **extra), status=400)
    return redirect("accounts:api")


urlpatterns = [
    path("espace-client/api/", api, name="api"),
    path("espace-client/api/cles/", api_key_create, name="api_key_create"),
    path("espace-client/api/cles/<int:key_id>/revoquer/", api_key_revoke, name="api_key_revoke"),
    path("espace-client/api/cles/<int:key_id>/modifier/", api_key_update, name="api_key_update"),
    path("espace-client/api/pay-as-you-go/", payg, name="payg"),
]
