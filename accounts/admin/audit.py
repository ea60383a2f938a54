"""The audit trail, read-only for staff."""

import json

from django.contrib import admin
from django.utils.html import format_html

from accounts.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "target", "account")
    list_filter = ("action", ("at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "target", "account__name", "account__owner__email")
    date_hierarchy = "at"
    list_select_related = ("account",)
    fields = ("at", "actor_label", "action", "target", "account", "details_display")
    readonly_fields = fields

    @admin.display(description="détails")
    def details_display(self, obj: AuditEvent) -> str:
        text = json.dumps(obj.details, ensure_ascii=False, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
