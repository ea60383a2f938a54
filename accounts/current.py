"""The account a request works on: a user may belong to several accounts (issue 16); the one
chosen in the header switcher is kept in the session, the first membership by default."""

from __future__ import annotations

from .models import Account, Membership

SESSION_KEY = "iaf_account_id"


def memberships_of(user):
    """The user's memberships with their accounts, oldest first (the first is the default)."""
    return (
        Membership.objects.filter(user=user)
        .select_related("account__owner")
        .order_by("created_at", "pk")
    )


def current_membership(request) -> Membership | None:
    """The logged-in user's membership of the session's account (or of their first account when
    the session names none, or one they no longer belong to); None for anonymous users and users
    without an account. Cached on the request."""
    if hasattr(request, "_iaf_membership"):
        return request._iaf_membership
    membership = None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        memberships = memberships_of(user)
        chosen = request.session.get(SESSION_KEY)
        if chosen is not None:
            membership = memberships.filter(account_id=chosen).first()
        if membership is None:
            membership = memberships.first()
            if membership is not None and chosen is not None:
                request.session[SESSION_KEY] = membership.account_id
    request._iaf_membership = membership
    return membership


def current_account(request) -> Account | None:
    membership = current_membership(request)
    return membership.account if membership is not None else None


def account_switch(request, *, account_id: int) -> Membership | None:
    """Make one of the user's accounts the session's current account; None when the user is
    not a member of it (the current account stays)."""
    membership = memberships_of(request.user).filter(account_id=account_id).first()
    if membership is not None:
        request.session[SESSION_KEY] = membership.account_id
        request._iaf_membership = membership
    return membership
