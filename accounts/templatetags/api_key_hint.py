"""The signed-in customer's key prefix, for code examples in the public API documentation."""

from django import template

from accounts.current import current_account
from accounts.models import ApiKey

register = template.Library()


@register.simple_tag(takes_context=True)
def customer_key_prefix(context) -> str:
    """`iaf_Ab12…` of the user's newest active key; empty when anonymous or without a key."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    account = current_account(request)
    key = (
        ApiKey.objects.filter(account=account, revoked_at__isnull=True)
        .order_by("-created_at")
        .only("prefix")
        .first()
    )
    return key.prefix if key else ""
