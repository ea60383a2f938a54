"""`{% price_increase_notices %}`: the espace client's price increase banners (one include line)."""

from django import template

from accounts.models import Account

from ..services.price_notices import price_banners

register = template.Library()


@register.simple_tag(takes_context=True)
def price_increase_notices(context) -> list:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    account = Account.objects.filter(owner=user).first()
    return price_banners(account=account) if account is not None else []
