"""`{% load team %}`: `{% if request|can:"payg.manage" %}` and the header's account switcher."""

from django import template

from ..current import current_membership, memberships_of
from ..permissions import member_can

register = template.Library()


@register.filter
def can(request, permission: str) -> bool:
    """Whether the request's member holds `permission` in the current account."""
    membership = getattr(request, "membership", None) or current_membership(request)
    return member_can(membership, permission)


@register.inclusion_tag("accounts/partials/_account_switcher.html", takes_context=True)
def account_switcher(context) -> dict:
    """The user's accounts, the current one selected (shown only with more than one)."""
    request = context.get("request")
    current = current_membership(request) if request is not None else None
    memberships = list(memberships_of(request.user)) if current is not None else []
    return {
        "request": request,
        "current": current,
        "memberships": memberships,
        "csrf_token": context.get("csrf_token"),
    }
