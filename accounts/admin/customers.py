"""Admin for users, customer accounts and their API keys.

Formula and pay-as-you-go changes go through the billing services (actions), never through
model edits; keys are revoked through the service and their hashes never appear.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.html import format_html

from billing.models import PlanChange
from billing.services.periods import current_period
from billing.services.subscriptions import (
    SubscriptionError,
    payg_set,
    scheduled_change,
    subscription_cancel_scheduled,
    subscription_change,
)
from catalog.models import Plan
from iafactory.formatting import date_label, format_dzd

from ..models import Account, ApiKey, User
from ..services import account_create, api_key_revoke

# Users


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "customer_account", "is_staff", "is_active"]
    list_select_related = ["account"]
    search_fields = ["email", "first_name", "last_name", "account__name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Identité", {"fields": ["first_name", "last_name"]}),
        (
            "Droits",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        )
    ]

    @admin.display(description="compte client")
    def customer_account(self, user):
        return getattr(user, "account", None) or "—"


# Customer accounts


class ApiKeyInlineForm(forms.ModelForm):
    revoke = forms.BooleanField(label="révoquer", required=False)

    class Meta:
        model = ApiKey
        fields: list[str] = []


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    form = ApiKeyInlineForm
    extra = 0
    can_delete = False
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at", "revoke"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    verbose_name_plural = "clés API (cochez « révoquer » puis enregistrez pour couper une clé)"

    def has_add_permission(self, request, obj=None):
        # A key's secret is shown once to its owner: customers create their keys themselves.
        return False


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


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "owner_email", "formula", "pay_as_you_go", "tva_exempt", "created_at"]
    list_select_related = ["owner", "subscription__plan"]
    list_filter = ["subscription__plan", "subscription__pay_as_you_go", "tva_exempt"]
    search_fields = ["owner__email", "name", "nif"]
    autocomplete_fields = ["owner"]
    readonly_fields = [
        "created_at",
        "formula",
        "pay_as_you_go",
        "scheduled",
        "period_summary",
    ]
    fieldsets = [
        (None, {"fields": ["name", "owner", "created_at"]}),
        (
            "Facturation",
            {"fields": ["billing_address", "nif", "nis", "rc", "article", "tva_exempt"]},
        ),
        (
            "Abonnement (modifiable par les actions de la liste des comptes)",
            {"fields": ["formula", "pay_as_you_go", "scheduled", "period_summary"]},
        ),
    ]
    inlines = [ApiKeyInline, PlanChangeInline]
    actions = ["change_plan", "payg_on", "payg_off", "cancel_scheduled"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["created_at"]
        return ["owner", *self.readonly_fields]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ["name", "owner"]}),
                (
                    "Facturation",
                    {"fields": ["billing_address", "nif", "nis", "rc", "article", "tva_exempt"]},
                ),
            ]
        return self.fieldsets

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Accounts carry usage and invoices that must never disappear.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        with transaction.atomic():
            account = account_create(owner=obj.owner, name=obj.name)
            for field in ["billing_address", "nif", "nis", "rc", "article", "tva_exempt"]:
                setattr(account, field, getattr(obj, field))
            account.save()
        obj.pk = account.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        if formset.model is not ApiKey:
            super().save_formset(request, form, formset, change)
            return
        # Keys are never edited here: the only change is a revocation, through the service.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for key_form in formset.forms:
            key = key_form.instance
            if key_form.cleaned_data.get("revoke") and key.is_active:
                api_key_revoke(account=form.instance, key_id=key.pk)
                messages.success(request, f"Clé {key.prefix}… révoquée.")

    # Columns and read-only fields

    @admin.display(description="e-mail", ordering="owner__email")
    def owner_email(self, account):
        return account.owner.email

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
            "{} : inclus {} · consommés {} · restants {} · dépassement {} · non facturé {}",
            date_format(period.month, "F Y"),
            format_dzd(period.included_credits),
            format_dzd(period.consumed),
            format_dzd(period.remaining),
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

    @admin.action(description="Annuler le changement de formule programmé", permissions=["change"])
    def cancel_scheduled(self, request, queryset):
        cancelled = sum(
            subscription_cancel_scheduled(account=account, by=request.user) is not None
            for account in queryset
        )
        self.message_user(request, f"{cancelled} changement(s) programmé(s) annulé(s).")


def _describe(change: PlanChange) -> str:
    target = change.to_plan.name if change.to_plan else "aucune formule"
    if change.status == PlanChange.Status.APPLIED:
        return f"passé à {target}, {format_dzd(change.credits_added)} de crédits ajoutés."
    if change.status == PlanChange.Status.SCHEDULED:
        return f"passage à {target} programmé le {date_label(change.effective_at)}."
    return "changement programmé annulé."


# API keys


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "account", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["account"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "account__name", "account__owner__email"]
    fields = ["account", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Usage events point at their key: revoke instead.
        return False

    @admin.action(description="Révoquer les clés sélectionnées", permissions=["change"])
    def revoke(self, request, queryset):
        active = list(queryset.filter(revoked_at__isnull=True))
        for key in active:
            api_key_revoke(account=key.account, key_id=key.pk)
        self.message_user(request, f"{len(active)} clé(s) révoquée(s).", messages.SUCCESS)
