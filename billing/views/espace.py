"""The espace client's dashboard and formula pages (the API keys and pay-as-you-go page is
keys.py): every view works on the request's current account only, as its member's role
allows (accounts/permissions.py). URL names stay in the "accounts" namespace (iafactory/urls.py
mounts these patterns there)."""

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import retarget

from accounts.forms import NO_PLAN, PlanChoiceForm
from accounts.permissions import requires
from catalog.models import Plan
from iafactory.formatting import date_label, format_dzd

from ..bill import bill_so_far
from ..models import PlanChange
from ..periods import local_date
from ..selectors import account_overview, plans_offered
from ..services.periods import subscription_get_or_create
from ..services.proration import is_upgrade
from ..services.subscriptions import (
    SubscriptionError,
    subscription_cancel_scheduled,
    subscription_change,
    upgrade_preview,
)
from . import keys
from .espace_common import redirect_htmx, template_for


@dataclass(frozen=True)
class PlanCard:
    plan: Plan | None  # None: "aucune formule"
    relation: str  # "current", "upgrade" or "downgrade"
    scheduled: bool  # the target of the scheduled change

    @property
    def slug(self) -> str:
        return self.plan.slug if self.plan is not None else NO_PLAN


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
        template_for(request, "accounts/formule.html", "accounts/partials/_formule.html"),
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
            return redirect_htmx(request, "accounts:formule")
    return render(
        request,
        template_for(
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
        return redirect_htmx(request, "accounts:formule")
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
        return redirect_htmx(request, "accounts:dashboard")
    if request.htmx:
        return render(request, "accounts/partials/_formule.html", _formule_context(account))
    return redirect("accounts:formule")


urlpatterns = [
    path("espace-client/", dashboard, name="dashboard"),
    path("espace-client/formule/", formule, name="formule"),
    path("espace-client/formule/apercu/", formule_apercu, name="formule_apercu"),
    path("espace-client/formule/annuler/", formule_annuler, name="formule_annuler"),
    *keys.urlpatterns,
]
