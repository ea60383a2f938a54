"""An account's members and roles (issue 16): adding, changing a role, removing (with the keys
the member created handed to another member or revoked), transferring the titulaire. Every
change is recorded in the audit trail. An account always keeps at least one owner.

`by` is the acting member (their role is checked here too, not only by the view's permission,
because an admin may change members but not owners); staff act from the admin with `by=None`
and `staff=<user>`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .models import Account, ApiKey, AuditEvent, Membership, Role, User
from .permissions import member_can


class TeamError(ValueError):
    """A team change refused, with a message for the person who asked."""


def _lock(account: Account) -> Account:
    # Every team change of an account takes its row lock first: two owners demoting each other
    # at once cannot leave it without one.
    return Account.objects.select_for_update(no_key=True).get(pk=account.pk)


def _may_touch(by: Membership | None, *roles: str) -> None:
    """Call after _lock: `by`'s role is read again under the account's lock (a concurrent
    change may have demoted or removed them)."""
    if by is None:
        return  # staff, from the admin
    by = Membership.objects.filter(pk=by.pk).first()
    if by is None or not member_can(by, "members.manage"):
        raise TeamError(_("Votre rôle ne permet pas de gérer les membres."))
    if Role.OWNER in roles and not member_can(by, "members.manage_owners"):
        raise TeamError(_("Seul un propriétaire peut gérer les propriétaires."))


def _owner_steps_down(account: Account, membership: Membership, *, refusal: str) -> None:
    """An owner stops being one: TeamError(`refusal`) when no other owner is left; a titulaire
    hands the titre to the oldest other owner."""
    successor = (
        account.memberships.filter(role=Role.OWNER)
        .exclude(pk=membership.pk)
        .order_by("created_at", "pk")
        .first()
    )
    if successor is None:
        raise TeamError(refusal)
    if account.owner_id == membership.user_id:
        Account.objects.filter(pk=account.pk).update(owner=successor.user)


def _actor(by: Membership | None, staff: User | None) -> User | None:
    return by.user if by is not None else staff


@transaction.atomic
def membership_add(
    *, account: Account, user: User, role: str, invited_by: User | None = None
) -> Membership:
    """`user` joins `account` with `role` (TeamError when already a member)."""
    _lock(account)
    if account.memberships.filter(user=user).exists():
        raise TeamError(_("%(email)s est déjà membre de ce compte.") % {"email": user.email})
    membership = Membership.objects.create(
        account=account, user=user, role=role, invited_by=invited_by
    )
    audit_record(
        action=AuditEvent.Action.MEMBER_JOINED,
        actor=invited_by or user,
        account=account,
        target=user.email,
        details={"rôle": role},
    )
    return membership


@transaction.atomic
def membership_set_role(
    *, membership: Membership, role: str, by: Membership | None, staff: User | None = None
) -> Membership:
    """Change a member's role. Only owners give or take the owner role; the last owner keeps
    it. A titulaire who stops being an owner hands the titre to the oldest other owner."""
    account = _lock(membership.account)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role not in Role.values:
        raise TeamError(_("Rôle inconnu."))
    if role == membership.role:
        return membership
    _may_touch(by, membership.role, role)
    if membership.role == Role.OWNER:
        _owner_steps_down(
            account, membership, refusal=_("Le compte doit garder au moins un propriétaire.")
        )
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action=AuditEvent.Action.MEMBER_ROLE_CHANGED,
        actor=_actor(by, staff),
        account=account,
        target=membership.user.email,
        details={"rôle": {"avant": before, "après": role}},
    )
    return membership


@transaction.atomic
def membership_remove(
    *,
    membership: Membership,
    by: Membership | None,
    keys_to: Membership | None = None,
    staff: User | None = None,
) -> int:
    """Remove a member (or let one leave: `by` is the member itself). The active keys they
    created are handed to `keys_to` (a member who may hold keys) or, without one, revoked at
    once. The last owner can neither leave nor be removed. Returns how many keys moved or
    were revoked."""
    account = _lock(membership.account)
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    leaving = by is not None and by.pk == membership.pk
    if not leaving:
        _may_touch(by, membership.role)
    if membership.role == Role.OWNER:
        _owner_steps_down(
            account, membership, refusal=_("Le dernier propriétaire ne peut pas quitter le compte.")
        )
    keys = ApiKey.objects.filter(
        account=account, created_by=membership.user, revoked_at__isnull=True
    )
    if keys_to is not None:
        if keys_to.account_id != account.pk or keys_to.pk == membership.pk:
            raise TeamError(_("Choisissez un autre membre de ce compte pour reprendre les clés."))
        if not member_can(keys_to, "keys.manage"):
            raise TeamError(_("Ce membre ne peut pas détenir de clés (rôle facturation)."))
        moved = keys.update(created_by=keys_to.user)
        fate = {"clés": moved, "remises à": keys_to.user.email}
    else:
        moved = keys.update(revoked_at=timezone.now())
        fate = {"clés révoquées": moved}
    email = membership.user.email
    membership.delete()
    audit_record(
        action=AuditEvent.Action.MEMBER_REMOVED,
        actor=_actor(by, staff),
        account=account,
        target=email,
        details=fate,
    )
    return moved


@transaction.atomic
def ownership_transfer(
    *, account: Account, to: Membership, by: Membership | None, staff: User | None = None
) -> Account:
    """Make `to` the titulaire (and an owner). The previous titulaire stays a member as an
    administrateur. Only an owner (or staff, on request) transfers."""
    account = _lock(account)
    if by is not None:
        by = Membership.objects.filter(pk=by.pk).first()
        if by is None or not member_can(by, "members.manage_owners"):
            raise TeamError(_("Seul un propriétaire peut transférer le compte."))
    to = Membership.objects.select_for_update().select_related("user").get(pk=to.pk)
    if to.account_id != account.pk:
        raise TeamError(_("Choisissez un membre de ce compte."))
    previous = account.owner
    if previous.pk == to.user_id:
        return account
    Membership.objects.filter(pk=to.pk).update(role=Role.OWNER)
    Membership.objects.filter(account=account, user=previous).update(role=Role.ADMIN)
    account.owner = to.user
    account.save(update_fields=["owner"])
    audit_record(
        action=AuditEvent.Action.OWNERSHIP_TRANSFERRED,
        actor=_actor(by, staff),
        account=account,
        target=to.user.email,
        details={"titulaire": {"avant": previous.email, "après": to.user.email}},
    )
    return account
