"""The espace client's pages about the formula, the credits and pay-as-you-go (with the API keys
they sit next to): every view works on the logged-in user's own account only. URL names stay in
the "accounts" namespace (iafactory/urls.py mounts these patterns there)."""

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, retarget

from accounts import services
from accounts.forms import NO_PLAN, ApiKeyCreateForm, PaygForm, PlanChoiceForm
from accounts.models import ApiKey
from accounts.selectors import account_for_user, api_keys_for_account
from catalog.models import Plan
from iafactory.formatting import date_label, format_dzd

from ..models import PlanChange
from ..periods import local_date
from ..selectors import account_overview, plans_offered
from ..services.periods import subscription_get_or_create
from ..services.subscriptions import (
    SubscriptionError,
    is_upgrade,
    payg_set,
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


@login_required
@require_GET
def dashboard(request):
    account = account_for_user(request.user)
    overview = account_overview(account=account)
    context = {
        "active": "dashboard",
        "o": overview,
        "active_keys": account.api_keys.filter(revoked_at__isnull=True).count(),
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
        kept = change.from_plan.name if change.from_plan else "aucune formule"
        return f"Le changement programmé est annulé : vous gardez « {kept} »."
    if change.status == PlanChange.Status.SCHEDULED:
        target = f"la formule {change.to_plan.name}" if change.to_plan else "aucune formule"
        return (
            f"Passage à {target} programmé pour le {date_label(local_date(change.effective_at))}. "
            "D'ici là, vous gardez votre formule actuelle et pouvez annuler ce changement."
        )
    verb = "activée" if change.kind == PlanChange.Kind.START else "active dès maintenant"
    return (
        f"Formule {change.to_plan.name} {verb} : {format_dzd(change.credits_added)} de crédits "
        "ajoutés pour ce mois."
    )


def _preview_day(request) -> date | None:
    try:
        return date.fromisoformat(request.POST.get("jour", ""))
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def formule(request):
    """The formulas side by side; a POST confirms the choice made on the preview."""
    account = account_for_user(request.user)
    if request.method == "POST":
        form = PlanChoiceForm(request.POST, plans=plans_offered(current=_current_plan(account)))
        day = _preview_day(request)
        if not form.is_valid():
            messages.error(request, form.errors["formule"][0])
        elif day is not None and day != local_date(timezone.now()):
            # The prorated amounts depend on the day: never apply figures the customer did not see.
            messages.warning(
                request,
                "Les montants ont changé depuis l'aperçu (nous avons changé de jour) : "
                "vérifiez-les avant de confirmer.",
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


@login_required
@require_GET
@vary_on_headers("HX-Request")
def formule_apercu(request):
    """What choosing a formula would do, with the exact amounts, before confirming."""
    account = account_for_user(request.user)
    form = PlanChoiceForm(request.GET, plans=plans_offered(current=_current_plan(account)))
    if not form.is_valid():
        messages.error(request, form.errors["formule"][0])
        return _redirect(request, "accounts:formule")
    return _formule_apercu_response(request, account, form.cleaned_data["formule"])


@login_required
@require_POST
@vary_on_headers("HX-Request")
def formule_annuler(request):
    account = account_for_user(request.user)
    change = subscription_cancel_scheduled(account=account, by=request.user)
    if change is None:
        messages.info(request, "Aucun changement de formule n'était programmé.")
    else:
        messages.success(request, _change_message(change))
    if request.POST.get("retour") == "dashboard":
        return _redirect(request, "accounts:dashboard")
    if request.htmx:
        return render(request, "accounts/partials/_formule.html", _formule_context(account))
    return redirect("accounts:formule")


# API keys and pay-as-you-go


def _api_context(account, **extra) -> dict:
    context = {
        "active": "api",
        "o": account_overview(account=account),
        "keys": api_keys_for_account(account=account),
        "form": ApiKeyCreateForm(),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def api(request):
    account = account_for_user(request.user)
    return render(request, "accounts/api.html", _api_context(account))


@never_cache  # the response carries the key's secret
@login_required
@require_POST
@vary_on_headers("HX-Request")
def api_key_create(request):
    """Create a key and show its secret in this response only: it is never stored or shown again."""
    account = account_for_user(request.user)
    form = ApiKeyCreateForm(request.POST)
    extra = {"form": form}
    if form.is_valid():
        key, raw = services.api_key_create(account=account, name=form.cleaned_data["name"])
        # The secret box says it was created; a flash message would repeat it.
        extra = {"new_key": key, "raw_key": raw}
    return render(
        request,
        _template(request, "accounts/api.html", "accounts/partials/_api_keys.html"),
        _api_context(account, **extra),
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def api_key_revoke(request, key_id: int):
    account = account_for_user(request.user)
    try:
        key = services.api_key_revoke(account=account, key_id=key_id)
    except ApiKey.DoesNotExist:
        raise Http404("Clé introuvable.") from None
    messages.success(
        request, f"La clé « {key.name} » ({key.prefix}…) est révoquée : elle ne fonctionne plus."
    )
    if request.htmx:
        return render(request, "accounts/partials/_api_keys.html", _api_context(account))
    return redirect("accounts:api")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def payg(request):
    account = account_for_user(request.user)
    form = PaygForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choix invalide pour le pay as you go.")
    else:
        enabled = form.cleaned_data["enabled"]
        payg_set(account=account, enabled=enabled, by=request.user)
        if enabled:
            messages.success(
                request,
                "Pay as you go activé : au-delà de vos crédits, l'API reste disponible et la "
                "consommation est facturée en fin de mois.",
            )
        else:
            messages.success(
                request,
                "Pay as you go désactivé : l'API s'arrêtera quand vos crédits du mois "
                "seront épuisés.",
            )
    if request.htmx:
        return render(request, "accounts/partials/_payg.html", _api_context(account))
    return redirect("accounts:api")


urlpatterns = [
    path("espace-client/", dashboard, name="dashboard"),
    path("espace-client/formule/", formule, name="formule"),
    path("espace-client/formule/apercu/", formule_apercu, name="formule_apercu"),
    path("espace-client/formule/annuler/", formule_annuler, name="formule_annuler"),
    path("espace-client/api/", api, name="api"),
    path("espace-client/api/cles/", api_key_create, name="api_key_create"),
    path("espace-client/api/cles/<int:key_id>/revoquer/", api_key_revoke, name="api_key_revoke"),
    path("espace-client/api/pay-as-you-go/", payg, name="payg"),
]
