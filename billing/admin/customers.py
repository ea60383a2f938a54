"""The customer account as billing shows it: identity and keys (accounts' admin) plus the
formula, pay-as-you-go, this month's period and the changes, all changed through billing
services (actions), never through model edits."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts.admin.customers import IDENTITY_FIELDS, AccountAdmin
from accounts.forms import PaygForm
from accounts.models import Account
from catalog.models import Plan
from iafactory.formatting import date_label, format_dzd, month_label

from ..models import PlanChange
from ..services.pay_as_you_go import payg_set
from ..services.periods import current_period
from ..services.prepaid import PrepaidError, prepaid_credit
from ..services.prepaid import prepaid_balance as balance_of
from ..services.subscriptions import (
    SubscriptionError,
    scheduled_change,
    subscription_cancel_scheduled,
    subscription_change,
)


class PlanChangeInline(admin.TabularInline):
    model = PlanChange
    extra = 0
    can_delete = False
    fields = ["requested_at", "change", "from_to", "state", "effective_at", "credits_added"]
    readonly_fields = fields
    ordering = ["-requested_at"]
    verbose_name_plural = "changements de formule"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_plan", "to_plan")

    @admin.display(description="type")
    def change(self, change):
        return change.get_kind_display()

    @admin.display(description="formules")
    def from_to(self, change):
        return f"{change.from_plan or 'aucune'} → {change.to_plan or 'aucune'}"

    @admin.display(description="état")
    def state(self, change):
        return change.get_status_display()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PlanChoiceForm(forms.Form):
    plan = forms.ModelChoiceField(
        label="Nouvelle formule",
        queryset=Plan.objects.order_by("included_credits"),
        required=False,
        empty_label="Aucune formule (pay as you go uniquement)",
    )


class PrepaidCreditForm(forms.Form):
    amount = forms.DecimalField(
        label="Montant (DZD HT)",
        max_digits=14,
        decimal_places=2,
        help_text="Négatif pour reprendre (le solde ne devient jamais négatif).",
    )
    reason = forms.CharField(label="Motif", max_length=200)


class CustomerAccountAdmin(AccountAdmin):
    list_display = ["name", "owner_email", "formula", "pay_as_you_go", "tva_exempt", "created_at"]
    list_select_related = ["owner", "subscription__plan"]
    list_filter = ["subscription__plan", "subscription__pay_as_you_go", "tva_exempt"]
    readonly_fields = [
        "created_at",
        "formula",
        "pay_as_you_go",
        "payg_cap",
        "prepaid_balance",
        "scheduled",
        "period_summary",
    ]
    fieldsets = [
        (None, {"fields": ["name", "owner", "created_at"]}),
        ("Facturation", {"fields": IDENTITY_FIELDS}),
        (
            "Abonnement (modifiable par les actions de la liste des comptes)",
            {
                "fields": [
                    "formula",
                    "pay_as_you_go",
                    "payg_cap",
                    "prepaid_balance",
                    "scheduled",
                    "period_summary",
                ]
            },
        ),
    ]
    inlines = [*AccountAdmin.inlines, PlanChangeInline]
    actions = [
        "change_plan",
        "payg_on",
        "payg_off",
        "payg_cap_set",
        "prepaid_adjust",
        "cancel_scheduled",
    ]

    # Columns and read-only fields

    @admin.display(description="formule", ordering="subscription__plan__included_credits")
    def formula(self, account):
        subscription = getattr(account, "subscription", None)
        if subscription is None or subscription.plan is None:
            return "Aucune"
        return subscription.plan.name

    @admin.display(description="pay as you go", boolean=True)
    def pay_as_you_go(self, account):
        subscription = getattr(account, "subscription", None)
        return bool(subscription and subscription.pay_as_you_go)

    @admin.display(description="plafond de dépassement")
    def payg_cap(self, account):
        subscription = getattr(account, "subscription", None)
        if subscription is None or subscription.payg_cap is None:
            return "Sans plafond"
        return format_dzd(subscription.payg_cap)

    @admin.display(description="solde prépayé")
    def prepaid_balance(self, account):
        return format_dzd(balance_of(account=account))

    @admin.display(description="changement programmé")
    def scheduled(self, account):
        change = scheduled_change(account=account)
        if change is None:
            return "—"
        target = change.to_plan.name if change.to_plan else "aucune formule"
        return f"{target} le {date_label(change.effective_at)}"

    @admin.display(description="période en cours")
    def period_summary(self, account):
        period = current_period(account=account)
        return format_html(
            "{} : inclus {} · consommés {} · restants {} · payé par le solde prépayé {} · "
            "dépassement {} · non facturé {}",
            month_label(period.month),
            format_dzd(period.included_credits),
            format_dzd(period.consumed),
            format_dzd(period.remaining),
            format_dzd(period.prepaid_used),
            format_dzd(period.overage),
            format_dzd(period.written_off),
        )

    # Actions: each goes through the billing services

    @admin.action(description="Changer de formule…", permissions=["change"])
    def change_plan(self, request, queryset):
        if "apply" in request.POST:
            form = PlanChoiceForm(request.POST)
            if form.is_valid():
                plan = form.cleaned_data["plan"]
                done = 0
                for account in queryset:
                    try:
                        change = subscription_change(account=account, plan=plan, by=request.user)
                    except SubscriptionError as error:
                        self.message_user(request, f"{account} : {error}", messages.WARNING)
                        continue
                    done += 1
                    self.message_user(request, f"{account} : {_describe(change)}", messages.SUCCESS)
                if done == 0:
                    self.message_user(request, "Aucune formule modifiée.", messages.INFO)
                return None
        else:
            form = PlanChoiceForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Changer de formule",
            "accounts": queryset.select_related("subscription__plan"),
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "accounts/admin/change_plan.html", context)

    @admin.action(description="Activer le pay as you go", permissions=["change"])
    def payg_on(self, request, queryset):
        for account in queryset:
            payg_set(account=account, enabled=True, by=request.user)
        self.message_user(request, f"Pay as you go activé pour {queryset.count()} compte(s).")

    @admin.action(description="Désactiver le pay as you go", permissions=["change"])
    def payg_off(self, request, queryset):
        for account in queryset:
            payg_set(account=account, enabled=False, by=request.user)
        self.message_user(request, f"Pay as you go désactivé pour {queryset.count()} compte(s).")

    def _form_action(self, request, queryset, *, action, form_class, title, explanation, apply):
        """An action with an intermediate form; `apply(account, data)` returns a message."""
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                for account in queryset:
                    try:
                        done = apply(account, form.cleaned_data)
                    except (SubscriptionError, PrepaidError) as error:
                        self.message_user(request, f"{account} : {error}", messages.WARNING)
                    else:
                        self.message_user(request, f"{account} : {done}", messages.SUCCESS)
                return None
        else:
            form = form_class()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "explanation": explanation,
            "accounts": queryset.select_related("subscription", "prepaid"),
            "form": form,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "billing/admin/account_action_form.html", context)

    @admin.action(description="Pay as you go : activer avec un plafond…", permissions=["change"])
    def payg_cap_set(self, request, queryset):
        def apply(account, data):
            subscription = payg_set(account=account, enabled=True, cap=data["cap"], by=request.user)
            cap = subscription.payg_cap
            return "pay as you go activé, " + (
                "sans plafond" if cap is None else f"plafond {format_dzd(cap)}"
            )

        return self._form_action(
            request,
            queryset,
            action="payg_cap_set",
            form_class=_StaffPaygForm,
            title="Pay as you go et plafond",
            explanation="Active le pay as you go avec ce plafond mensuel de dépassement (DZD "
            "HT), à effet immédiat ; le changement est enregistré avec son auteur.",
            apply=apply,
        )

    @admin.action(description="Ajuster le solde prépayé…", permissions=["change"])
    def prepaid_adjust(self, request, queryset):
        def apply(account, data):
            balance = prepaid_credit(
                account=account, amount=data["amount"], reason=data["reason"], by=request.user
            )
            return f"solde prépayé {format_dzd(balance.balance)}"

        return self._form_action(
            request,
            queryset,
            action="prepaid_adjust",
            form_class=PrepaidCreditForm,
            title="Ajuster le solde prépayé",
            explanation="Un geste commercial ou une correction : le montant est ajouté au solde "
            "prépayé de chaque compte sélectionné, avec son motif, dans le journal d'audit.",
            apply=apply,
        )

    @admin.action(description="Annuler le changement de formule programmé", permissions=["change"])
    def cancel_scheduled(self, request, queryset):
        cancelled = sum(
            subscription_cancel_scheduled(account=account, by=request.user) is not None
            for account in queryset
        )
        self.message_user(request, f"{cancelled} changement(s) programmé(s) annulé(s).")


class _StaffPaygForm(PaygForm):
    enabled = forms.TypedChoiceField(
        choices=[("1", "activé")],
        coerce=lambda value: value == "1",
        initial="1",
        widget=forms.HiddenInput,
    )


def _describe(change: PlanChange) -> str:
    target = change.to_plan.name if change.to_plan else "aucune formule"
    if change.status == PlanChange.Status.APPLIED:
        return f"passé à {target}, {format_dzd(change.credits_added)} de crédits ajoutés."
    if change.status == PlanChange.Status.SCHEDULED:
        return f"passage à {target} programmé le {date_label(change.effective_at)}."
    return "changement programmé annulé."


# Registered in place of accounts' AccountAdmin (imported above, so registered first).
admin.site.unregister(Account)
admin.site.register(Account, CustomerAccountAdmin)
