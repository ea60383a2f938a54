"""The espace client's pages about the formula, the credits and pay-as-you-go (with the API keys
they sit next to): every view works on the request's current account only, as its member's role
allows (accounts/permissions.py). URL names stay in the "accounts" namespace (iafactory/urls.py
mounts these patterns there)."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, retarget

from accounts import services
from accounts.forms import NO_PLAN, ApiKeyCreateForm, ApiKeyUpdateForm, PaygForm, PlanChoiceForm
from accounts.models import ApiKey
from accounts.permissions import key_for_member, member_can, requires
from accounts.selectors import api_keys_for_account
from catalog.models import Plan
from iafactory.formatting import date_label, format_dzd

from ..bill import bill_so_far
from ..models import PlanChange
from ..money import ZERO
from ..periods import BILLING_TZ, local_date
from ..selectors import account_overview, key_spends, plans_offered
from ..services.pay_as_you_go import KEEP, payg_default_cap, payg_set
from ..services.periods import subscription_get_or_create
from ..services.subscriptions import (
    SubscriptionError,
    is_upgrade,
    subscription_cancel_scheduled,
    subscription_change,
    upgrade_preview,
)


@dataclass(frozen=True)
class PlanCard:
    plan: Plan | None  # None: "aucune formule"
    relation: str  # "current", "upgrade" or "downgrade"
    scheduled: bool  # the target of the scheduled change

    @property
    def slug(self) -> str:
        return self.plan.slug if self.plan is not None else NO_PLAN


def _template(request, page: str, partial: str) -> str:
    return partial if request.htmx else page


def _redirect(request, name: str):
    """A redirect that htmx follows with a full page load instead of swapping it into a target."""
    if request.htmx:
        return HttpResponseClientRedirect(reverse(name))
    return redirect(name)


def _current_plan(account) -> Plan | None:
    return subscription_get_or_create(account=account).plan


def _relation(current: Plan | None, target: Plan | None) -> str:
    if (current is None and target is None) or (
        current is not None and target is not None and current.pk == target.pk
    ):
        return "current"
    return "upgrade" if is_upgrade(current=current, target=target) else "downgrade"


# Dashboard


@requires("dashboard.view")
@require_GET
def dashboard(request):
    account = request.account
    overview = account_overview(account=account)
    context = {
        "active": "dashboard",
        "o": overview,
        "active_keys": account.api_keys.filter(revoked_at__isnull=True).count(),
        "bill": bill_so_far(period=overview.period),
    }
    return render(request, "accounts/dashboard.html", context)


# Formula


def _formule_context(account) -> dict:
    overview = account_overview(account=account)
    current = overview.plan
    scheduled_to = overview.scheduled.to_plan if overview.scheduled else None
    cards = [
        PlanCard(
            plan=plan,
            relation=_relation(current, plan),
            scheduled=overview.scheduled is not None
            and scheduled_to is not None
            and scheduled_to.pk == plan.pk,
        )
        for plan in plans_offered(current=current)
    ]
    cards.insert(
        0,
        PlanCard(
            plan=None,
            relation=_relation(current, None),
            scheduled=overview.scheduled is not None and scheduled_to is None,
        ),
    )
    return {"active": "formule", "o": overview, "cards": cards}


def _change_message(change: PlanChange) -> str:
    if change.status == PlanChange.Status.CANCELLED:
        kept = change.from_plan.name if change.from_plan else _("aucune formule")
        return _("Le changement programmé est annulé : vous gardez « %(plan)s ».") % {"plan": kept}
    if change.status == PlanChange.Status.SCHEDULED:
        day = date_label(local_date(change.effective_at))
        if change.to_plan is None:
            message = _(
                "Passage à aucune formule programmé pour le %(day)s. D'ici là, vous gardez votre "
                "formule actuelle et pouvez annuler ce changement."
            )
            return message % {"day": day}
        message = _(
            "Passage à la formule %(plan)s programmé pour le %(day)s. D'ici là, vous gardez "
            "votre formule actuelle et pouvez annuler ce changement."
        )
        return message % {"plan": change.to_plan.name, "day": day}
    if change.kind == PlanChange.Kind.START:
        message = _("Formule %(plan)s activée : %(credits)s de crédits ajoutés pour ce mois.")
    else:
        message = _(
            "Formule %(plan)s active dès maintenant : %(credits)s de crédits ajoutés pour ce mois."
        )
    return message % {"plan": change.to_plan.name, "credits": format_dzd(change.credits_added)}


def _preview_day(request) -> date | None:
    try:
        return date.fromisoformat(request.POST.get("jour", ""))
    except ValueError:
        return None


@requires("plan.manage")
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def formule(request):
    """The formulas side by side; a POST confirms the choice made on the preview."""
    account = request.account
    if request.method == "POST":
        form = PlanChoiceForm(request.POST, plans=plans_offered(current=_current_plan(account)))
        day = _preview_day(request)
        if not form.is_valid():
            messages.error(request, form.errors["formule"][0])
        elif day is not None and day != local_date(timezone.now()):
            # The prorated amounts depend on the day: never apply figures the customer did not see.
            messages.warning(
                request,
                _(
                    "Les montants ont changé depuis l'aperçu (nous avons changé de jour) : "
                    "vérifiez-les avant de confirmer."
                ),
            )
            response = _formule_apercu_response(request, account, form.cleaned_data["formule"])
            return retarget(response, "#formule-apercu") if request.htmx else response
        else:
            try:
                change = subscription_change(
                    account=account, plan=form.cleaned_data["formule"], by=request.user
                )
            except SubscriptionError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _change_message(change))
        if not request.htmx:
            return redirect("accounts:formule")
    elif "formule" in request.GET:
        # A formula chosen on /tarifs/ before signing up: shown pre-selected, to confirm.
        form = PlanChoiceForm(request.GET, plans=plans_offered(current=_current_plan(account)))
        if form.is_valid():
            return _formule_apercu_response(request, account, form.cleaned_data["formule"])
    return render(
        request,
        _template(request, "accounts/formule.html", "accounts/partials/_formule.html"),
        _formule_context(account),
    )


def _formule_apercu_response(request, account, target: Plan | None):
    overview = account_overview(account=account)
    current = overview.plan
    relation = _relation(current, target)
    context = {
        "active": "formule",
        "o": overview,
        "target": target,
        "target_slug": target.slug if target is not None else NO_PLAN,
        "relation": relation,
        "today": local_date(timezone.now()),
        "effective": overview.month.next().first_day,
    }
    if relation == "upgrade":
        try:
            context["preview"] = upgrade_preview(account=account, plan=target)
        except SubscriptionError as error:
            messages.error(request, str(error))
            return _redirect(request, "accounts:formule")
    return render(
        request,
        _template(
            request, "accounts/formule_apercu.html", "accounts/partials/_formule_apercu.html"
        ),
        context,
    )


@requires("plan.manage")
@require_GET
@vary_on_headers("HX-Request")
def formule_apercu(request):
    """What choosing a formula would do, with the exact amounts, before confirming."""
    account = request.account
    form = PlanChoiceForm(request.GET, plans=plans_offered(current=_current_plan(account)))
    if not form.is_valid():
        messages.error(request, form.errors["formule"][0])
        return _redirect(request, "accounts:formule")
    return _formule_apercu_response(request, account, form.cleaned_data["formule"])


@requires("plan.manage")
@require_POST
@vary_on_headers("HX-Request")
def formule_annuler(request):
    account = request.account
    change = subscription_cancel_scheduled(account=account, by=request.user)
    if change is None:
        messages.info(request, _("Aucun changement de formule n'était programmé."))
    else:
        messages.success(request, _change_message(change))
    if request.POST.get("retour") == "dashboard":
        return _redirect(request, "accounts:dashboard")
    if request.htmx:
        return render(request, "accounts/partials/_formule.html", _formule_context(account))
    return redirect("accounts:formule")


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
        _template(request, "accounts/api.html", "accounts/partials/_api_keys.html"),
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
        _template(request, "accounts/api.html", "accounts/partials/_api_keys.html"),
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
    path("espace-client/", dashboard, name="dashboard"),
    path("espace-client/formule/", formule, name="formule"),
    path("espace-client/formule/apercu/", formule_apercu, name="formule_apercu"),
    path("espace-client/formule/annuler/", formule_annuler, name="formule_annuler"),
    path("espace-client/api/", api, name="api"),
    path("espace-client/api/cles/", api_key_create, name="api_key_create"),
    path("espace-client/api/cles/<int:key_id>/revoquer/", api_key_revoke, name="api_key_revoke"),
    path("espace-client/api/cles/<int:key_id>/modifier/", api_key_update, name="api_key_update"),
    path("espace-client/api/pay-as-you-go/", payg, name="payg"),
]
