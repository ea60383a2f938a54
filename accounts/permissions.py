"""Who may do what in an account: one table of permissions by role, and the decorators that
every espace-client view and the customer API apply (issue 16). A view states its permission
once (`@requires("keys.manage")`); nothing else in the view decides access.

The request's account is the current account of the session (accounts/current.py): a user may
belong to several accounts and switches between them in the header.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.permissions import BasePermission

from .current import current_membership
from .models import ApiKey, Membership, Role

OWNER, ADMIN, DEVELOPER, BILLING = Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.BILLING
EVERYONE = frozenset(Role)

# {permission: the roles that hold it}. Issue 16: propriétaire everything; administrateur
# formula, pay-as-you-go and ceilings, keys, members except owners; développeur keys (its own)
# and consommation; facturation invoices, payments, billing details and consommation.
PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard.view": EVERYONE,
    "usage.view": EVERYONE,
    "plan.manage": frozenset({OWNER, ADMIN}),
    "payg.manage": frozenset({OWNER, ADMIN}),
    "alerts.manage": frozenset({OWNER, ADMIN, BILLING}),
    "keys.view": frozenset({OWNER, ADMIN, DEVELOPER}),
    # A developer manages the keys it created; owners and admins every key of the account.
    "keys.manage": frozenset({OWNER, ADMIN, DEVELOPER}),
    "keys.manage_any": frozenset({OWNER, ADMIN}),
    "invoices.view": frozenset({OWNER, BILLING}),
    "payments.manage": frozenset({OWNER, BILLING}),
    "billing_details.manage": frozenset({OWNER, BILLING}),
    "members.view": frozenset({OWNER, ADMIN}),
    # Admins manage the members who are not owners; only owners touch owners.
    "members.manage": frozenset({OWNER, ADMIN}),
    "members.manage_owners": frozenset({OWNER}),
    "audit.view": frozenset({OWNER, ADMIN}),
}

# The marker of views that need a logged-in user but no role (switching account, accepting an
# invitation): the URL-conf test accepts it in place of a permission.
LOGIN_ONLY = "login"


def role_allows(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`; KeyError for a permission not in the table."""
    return role in PERMISSIONS[permission]


def member_can(membership: Membership | None, permission: str) -> bool:
    return membership is not None and role_allows(membership.role, permission)


def requires(permission: str, *, staff_reads_all: bool = False) -> Callable:
    """The view needs a logged-in member of the current account whose role holds `permission`:
    anonymous → login page, no account → 404, role without it → 403. Sets `request.account`
    and `request.membership`. With `staff_reads_all`, staff pass too (request.account may then
    be None: the view serves them any account's file, e.g. a transfer proof from the admin)."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = current_membership(request)
            if staff_reads_all and request.user.is_staff:
                request.membership = membership
                request.account = membership.account if membership else None
                return view(request, *args, **kwargs)
            if membership is None:
                raise Http404("Aucun compte client pour cet utilisateur.")
            if not role_allows(membership.role, permission):
                raise PermissionDenied("Votre rôle dans ce compte ne permet pas cette action.")
            request.membership = membership
            request.account = membership.account
            return view(request, *args, **kwargs)

        protected = login_required(wrapper)
        protected.permission = permission
        return protected

    return decorator


def login_only(view):
    """A view for any logged-in user, whatever their accounts (marked for the URL-conf test)."""
    protected = login_required(view)
    protected.permission = LOGIN_ONLY
    return protected


def key_for_member(membership: Membership, key_id: int) -> ApiKey:
    """One of the account's keys that this member may change: 404 for another account's key,
    403 for a key a developer did not create."""
    key = ApiKey.objects.filter(account_id=membership.account_id, pk=key_id).first()
    if key is None:
        raise Http404("Clé inconnue.")
    if not member_can(membership, "keys.manage_any") and key.created_by_id != membership.user_id:
        raise PermissionDenied("Un développeur ne modifie que les clés qu'il a créées.")
    return key


def key_membership(key: ApiKey) -> Membership | None:
    """Whom a customer API key acts for: its creator's membership of the key's account. A key
    without a creator (made before teams, or by staff) acts for the account's titulaire; a key
    whose creator left the account acts for no one (its keys are revoked or handed over)."""
    user_id = key.created_by_id or key.account.owner_id
    return (
        Membership.objects.filter(account_id=key.account_id, user_id=user_id)
        .select_related("account")
        .first()
    )


class KeyRolePermission(BasePermission):
    """DRF: the customer key's member (key_membership) holds the view's `required_permission`."""

    message = "Le rôle du créateur de cette clé ne permet pas cet appel."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return False
        return member_can(key_membership(request.auth), view.required_permission)
