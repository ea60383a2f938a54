"""Invitations to join an account by e-mail (issue 16): a random token whose SHA-256 alone is
stored, valid 7 days, one use, revocable. An existing user accepts in one click; an address
without a user signs up through the link (accounts/forms.py SignupForm)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .audit import audit_record
from .keys import hash_secret, new_secret
from .models import Account, AuditEvent, Invitation, Membership, Role, User
from .team import TeamError, _lock, _may_touch, membership_add

VALID_FOR = timedelta(days=7)
TOKEN_PREFIX = "inv_"  # noqa: S105 (a public marker, not a secret)
SESSION_KEY = "iaf_invitation"

# Why a link does not work, as shown on the invitation page.
REFUSALS = {
    "unknown": gettext_lazy("Ce lien d'invitation n'existe pas."),
    "used": gettext_lazy("Cette invitation a déjà été acceptée."),
    "revoked": gettext_lazy("Cette invitation a été retirée par le compte qui l'avait envoyée."),
    "expired": gettext_lazy(
        "Cette invitation a expiré (elle était valable 7 jours) : demandez-en une autre."
    ),
}


def invitation_url(raw: str) -> str:
    return f"{settings.SITE_URL}{reverse('accounts:invitation', args=[raw])}"


@transaction.atomic
def invitation_create(
    *, account: Account, email: str, role: str, by: Membership
) -> tuple[Invitation, str]:
    """Invite `email` with `role` and e-mail the link; returns the invitation and its raw token
    (never stored). A pending invitation of the same address is replaced."""
    _lock(account)
    if role not in Role.values:
        raise TeamError(_("Rôle inconnu."))
    _may_touch(by, role)
    email = User.objects.normalize_email(email.strip()).lower()
    if account.memberships.filter(user__email__iexact=email).exists():
        raise TeamError(_("%(email)s est déjà membre de ce compte.") % {"email": email})
    now = timezone.now()
    account.invitations.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    secret = new_secret(TOKEN_PREFIX)
    invitation = Invitation.objects.create(
        account=account,
        email=email,
        role=role,
        token_hash=secret.hashed,
        invited_by=by.user,
        expires_at=now + VALID_FOR,
    )
    audit_record(
        action=AuditEvent.Action.MEMBER_INVITED,
        actor=by.user,
        account=account,
        target=email,
        details={"rôle": role},
    )
    context = {
        "invitation": invitation,
        "account": account,
        "inviter": by.user,
        "url": invitation_url(secret.raw),
        "role": invitation.get_role_display(),
    }
    subject = render_to_string("accounts/emails/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/emails/invitation.txt", context)
    # Sent once the invitation is stored: a rolled-back invitation sends nothing.
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return invitation, secret.raw


def invitation_lookup(raw: str) -> tuple[Invitation | None, str | None]:
    """The invitation of a raw token and why it cannot be accepted ("unknown", "used",
    "revoked", "expired"), or None when it can."""
    invitation = (
        Invitation.objects.filter(token_hash=hash_secret(raw or ""))
        .select_related("account", "invited_by")
        .first()
    )
    if invitation is None:
        return None, "unknown"
    if invitation.accepted_at is not None:
        return invitation, "used"
    if invitation.revoked_at is not None:
        return invitation, "revoked"
    if invitation.expires_at <= timezone.now():
        return invitation, "expired"
    return invitation, None


def email_matches(invitation: Invitation, user: User) -> bool:
    """Whether the user holds the invited address (as login or verified address)."""
    if user.email.lower() == invitation.email.lower():
        return True
    return user.emailaddress_set.filter(email__iexact=invitation.email, verified=True).exists()


@transaction.atomic
def invitation_accept(*, raw: str, user: User) -> Membership:
    """`user` joins with the invited role; the link then stops working (TeamError with the
    reason when it cannot be accepted, or when the user is not the invited address)."""
    invitation, refusal = invitation_lookup(raw)
    if invitation is not None:
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        invitation, refusal = invitation_lookup(raw)  # re-read under the lock: one use
    if refusal is not None:
        raise TeamError(str(REFUSALS[refusal]))
    if not email_matches(invitation, user):
        raise TeamError(
            _("Cette invitation est adressée à %(email)s : connectez-vous avec cette adresse.")
            % {"email": invitation.email}
        )
    membership = membership_add(
        account=invitation.account,
        user=user,
        role=invitation.role,
        invited_by=invitation.invited_by,
    )
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now(), accepted_by=user)
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: Membership) -> Invitation:
    """Withdraw a pending invitation: its link stops working at once (idempotent)."""
    _may_touch(by, invitation.role)
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditEvent.Action.INVITATION_REVOKED,
            actor=by.user,
            account=invitation.account,
            target=invitation.email,
        )
    return invitation
