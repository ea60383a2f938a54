"""Admin for users, customer accounts and their API keys.

Keys are revoked through the service and their hashes never appear. The formula and
pay-as-you-go of an account are billing's (billing/admin/customers.py).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction

from ..models import Account, ApiKey, Membership, User
from ..services import account_create, api_key_revoke, api_key_update
from .team import MembershipInline, save_membership_formset

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
    search_fields = ["email", "first_name", "last_name", "memberships__account__name"]
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

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships__account")

    @admin.display(description="comptes clients")
    def customer_account(self, user):
        return ", ".join(str(m.account) for m in user.memberships.all()) or "—"


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


IDENTITY_FIELDS = ["billing_address", "nif", "nis", "rc", "article", "tva_exempt"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """The account's identity and keys. Billing registers its own subclass in place of this one
    (billing/admin/customers.py) to add the formula, the period and their actions."""

    list_display = ["name", "owner_email", "tva_exempt", "created_at"]
    list_select_related = ["owner"]
    list_filter = ["tva_exempt"]
    search_fields = ["owner__email", "name", "nif"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["name", "owner", "created_at"]}),
        ("Facturation", {"fields": IDENTITY_FIELDS}),
    ]
    inlines = [MembershipInline, ApiKeyInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["created_at"]
        return ["owner", *self.readonly_fields]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ["name", "owner"]}),
                ("Facturation", {"fields": IDENTITY_FIELDS}),
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
            for field in IDENTITY_FIELDS:
                setattr(account, field, getattr(obj, field))
            account.save()
        obj.pk = account.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        if formset.model is Membership:
            save_membership_formset(request, form, formset)
            return
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

    @admin.display(description="e-mail", ordering="owner__email")
    def owner_email(self, account):
        return account.owner.email


# API keys


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "account",
        "monthly_budget",
        "expires_at",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_select_related = ["account"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "account__name", "account__owner__email"]
    fields = [
        "account",
        "name",
        "monthly_budget",
        "expires_at",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    # Name, budget and expiry change through api_key_update (audited); the rest is fixed.
    readonly_fields = [
        "account",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        api_key_update(
            key=obj,
            name=form.cleaned_data["name"],
            budget=form.cleaned_data["monthly_budget"],
            expires_at=form.cleaned_data["expires_at"],
            by=request.user,
        )
        return None

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
