"""{% suspension_notice as s %}: the logged-in customer's suspension, for the dashboard."""

from django import template

from accounts.current import current_account

from ..services.dunning import account_suspension

register = template.Library()


@register.simple_tag(takes_context=True)
def suspension_notice(context):
    request = context.get("request")
    if request is None:
        return None
    account = current_account(request)
    return account_suspension(account) if account is not None else None
