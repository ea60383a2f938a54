"""Espace client: the spending alerts the customer sets, and the billing address that also
receives them. A plain form post that htmx enhances (the section swaps itself)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.permissions import requires

from ..services.alerts import (
    AlertSettingsError,
    Thresholds,
    alert_settings_set,
    alert_thresholds,
    thresholds_parse,
)

HELP = gettext_lazy(
    "Pourcentages entiers de 1 à 100 séparés par des virgules ; vide : aucune alerte."
)


class ThresholdsField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=60, help_text=HELP, **kwargs)

    def clean(self, value):
        try:
            return thresholds_parse(super().clean(value) or "")
        except AlertSettingsError as error:
            raise forms.ValidationError(str(error)) from None


class AlertSettingsForm(forms.Form):
    credits = ThresholdsField(label=gettext_lazy("Seuils des crédits inclus du mois (%)"))
    payg_cap = ThresholdsField(label=gettext_lazy("Seuils du plafond de pay as you go (%)"))
    key_budget = ThresholdsField(label=gettext_lazy("Seuils du budget mensuel de chaque clé (%)"))
    billing_email = forms.EmailField(
        label=gettext_lazy("Adresse e-mail de facturation (facultative)"),
        required=False,
        help_text=gettext_lazy("Elle reçoit aussi les alertes, en plus du titulaire du compte."),
        error_messages={"invalid": gettext_lazy("Saisissez une adresse e-mail valide.")},
    )


def _initial(account, thresholds: Thresholds) -> dict:
    def text(values):
        return ", ".join(str(v) for v in values)

    return {
        "credits": text(thresholds.credits),
        "payg_cap": text(thresholds.payg_cap),
        "key_budget": text(thresholds.key_budget),
        "billing_email": account.billing_email,
    }


@requires("alerts.manage")
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def alert_settings(request):
    account = request.account
    if request.method == "POST":
        form = AlertSettingsForm(request.POST)
        if form.is_valid():
            alert_settings_set(account=account, **form.cleaned_data)
            messages.success(request, _("Vos alertes sont enregistrées."))
            if not request.htmx:
                return redirect("billing:alertes")
            form = AlertSettingsForm(initial=_initial(account, alert_thresholds(account=account)))
    else:
        form = AlertSettingsForm(initial=_initial(account, alert_thresholds(account=account)))
    context = {"active": "alertes", "form": form, "account": account}
    template = "billing/partials/_alerts_form.html" if request.htmx else "billing/alerts.html"
    return render(request, template, context)


urlpatterns = [path("espace-client/alertes/", alert_settings, name="alertes")]
