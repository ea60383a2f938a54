"""`{% price_increase_notices %}`: the espace client's price increase banners (one include line)."""

from django import template

from accounts.current import current_account

from ..services.price_notices import price_banners

register = template.Library()


@register.simple_tag(takes_context=True)
def price_increase_notices(context) -> list:
    request = context.get("request")
    if request is None:
        return []
    account = current_account(request)
    return price_banners(account=account) if account is not None else []
