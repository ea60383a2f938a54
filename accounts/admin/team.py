"""Admin for an account's members (issue 16): staff see members and roles, and transfer the
titulaire on request (the inline's « rendre titulaire » box, or the members list action),
always through accounts/team.py."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from ..models import Invitation, Membership
from ..team import TeamError, ownership_transfer


class MembershipInlineForm(forms.ModelForm):
    make_titulaire = forms.BooleanField(label=_("rendre titulaire"), required=False)

    class Meta:
        model = Membership
        fields: list[str] = []


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipInlineForm
    fk_name = "account"
    extra = 0
    can_delete = False
    fields = ["user", "role", "created_at", "invited_by", "make_titulaire"]
    readonly_fields = ["user", "role", "created_at", "invited_by"]
    verbose_name_plural = _(
        "membres (cochez « rendre titulaire » puis enregistrez pour transférer)"
    )

    def has_add_permission(self, request, obj=None):
        # Members join by invitation, from the espace client.
        return False


def save_membership_formset(request, form, formset) -> None:
    """Only the transfer box counts: memberships are never edited from here."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for member_form in formset.forms:
        if member_form.cleaned_data.get("make_titulaire"):
            _transfer(request, member_form.instance)


def _transfer(request, membership: Membership) -> None:
    try:
        ownership_transfer(account=membership.account, to=membership, by=None, staff=request.user)
    except TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(email)s est désormais titulaire de %(account)s.")
            % {"email": membership.user.email, "account": membership.account},
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at", "invited_by"]
    list_filter = ["role"]
    list_select_related = ["user", "account", "invited_by"]
    search_fields = ["user__email", "account__name"]
    readonly_fields = ["account", "user", "role", "created_at", "invited_by"]
    actions = ["make_titulaire"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Rendre titulaire de son compte (transfert sur demande)"))
    def make_titulaire(self, request, queryset):
        for membership in queryset.select_related("account", "user"):
            _transfer(request, membership)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "account", "role", "created_at", "expires_at", "accepted_at"]
    list_select_related = ["account"]
    search_fields = ["email", "account__name"]
    readonly_fields = [
        "account",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
