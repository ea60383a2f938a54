"""{% suspension_notice as s %}: the logged-in customer's suspension, for the dashboard."""

from django import template

from accounts.models import Account

from ..services.dunning import account_suspension

register = template.Library()


@register.simple_tag(takes_context=True)
def suspension_notice(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    account = Account.objects.filter(owner=user).first()
    return account_suspension(account) if account is not None else None
