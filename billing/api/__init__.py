"""JSON API of metering: the gateway's authorize and usage calls, the customer's own account."""

from .customer import AccountView, UsageView
from .gateway import GatewayAuthorizeView, GatewayUsageView

__all__ = ["AccountView", "GatewayAuthorizeView", "GatewayUsageView", "UsageView"]
