"""Admin for billing settings: one row (pk=1), edited in place, never added twice nor deleted."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.audit import audit_record, form_changes
from accounts.models import AuditEvent
from billing.models import BillingSettings


@admin.register(BillingSettings)
class BillingSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        ("TVA", {"fields": ("tva_rate",)}),
        (
            "Préavis des hausses de prix",
            {
                "fields": ("price_notice_days",),
                "description": (
                    "Une hausse de prix d'un modèle doit être annoncée au moins ce nombre de "
                    "jours avant son entrée en vigueur ; une baisse s'applique 10 minutes plus "
                    "tard (la passerelle date ses événements jusqu'à 5 minutes d'avance). "
                    "Affiché dans la FAQ de la page Tarifs ({preavis_jours})."
                ),
            },
        ),
        (
            "Société (mentions légales des factures)",
            {
                "fields": (
                    "company_name",
                    "company_address",
                    "company_nif",
                    "company_nis",
                    "company_rc",
                    "company_article",
                    "company_bank",
                    "company_email",
                    "payment_terms",
                )
            },
        ),
        (
            "Échéances, relances et recharges",
            {
                "fields": (
                    "payment_term_days",
                    "suspension_days",
                    "recharge_amounts",
                    "recharge_minimum",
                )
            },
        ),
    )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not BillingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.changed_data:
            audit_record(
                action=AuditEvent.Action.SETTINGS_EDITED,
                actor=request.user,
                target="Paramètres de facturation",
                details=form_changes(form),
            )

    def changelist_view(self, request, extra_context=None):
        # A list of one row is noise: go straight to the form.
        settings = BillingSettings.load()
        return HttpResponseRedirect(
            reverse("admin:billing_billingsettings_change", args=[settings.pk])
        )
