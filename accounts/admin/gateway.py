"""Admin for gateway tokens: the secret is shown once at creation, never the hash."""

from django.contrib import admin, messages

from ..gateway import gateway_token_create, gateway_token_revoke
from ..models import GatewayToken


@admin.register(GatewayToken)
class GatewayTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        # A token's name is its label in logs: fixed once created, like the secret.
        return [] if obj is None else ["name", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, raw = gateway_token_create(name=form.cleaned_data["name"])
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            f"Jeton « {token.name} » créé : {raw} — copiez-le maintenant, "
            "il ne sera plus jamais affiché.",
        )

    def has_delete_permission(self, request, obj=None):
        # Revoke instead: a deleted token would leave no trace of what it was.
        return False

    @admin.action(description="Révoquer les jetons sélectionnés", permissions=["change"])
    def revoke(self, request, queryset):
        active = list(queryset.filter(revoked_at__isnull=True))
        for token in active:
            gateway_token_revoke(token=token)
        count = len(active)
        self.message_user(request, f"{count} jeton(s) révoqué(s).", messages.SUCCESS)
