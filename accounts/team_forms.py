"""Forms of the « Équipe » page (issue 16)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Membership, Role


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Adresse e-mail"))
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices, initial=Role.DEVELOPER)

    def __init__(self, *args, may_invite_owners: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_invite_owners:
            self.fields["role"].choices = [
                choice for choice in Role.choices if choice[0] != Role.OWNER
            ]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices)


class RemoveForm(forms.Form):
    """Removing a member: who takes over the keys they created (empty: revoke them)."""

    keys_to = forms.ModelChoiceField(
        label=_("Clés API créées par ce membre"),
        queryset=Membership.objects.none(),
        required=False,
        empty_label=_("Les révoquer"),
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["keys_to"]
        field.queryset = (
            Membership.objects.filter(
                account_id=membership.account_id,
                role__in=[Role.OWNER, Role.ADMIN, Role.DEVELOPER],
            )
            .exclude(pk=membership.pk)
            .select_related("user")
        )
        field.label_from_instance = lambda member: (
            _("Les remettre à %(email)s") % {"email": member.user.email}
        )
