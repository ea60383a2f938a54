from django.urls import path

from . import api

app_name = "billing_api"
urlpatterns = [
    path("gateway/authorize/", api.GatewayAuthorizeView.as_view(), name="gateway-authorize"),
    path("gateway/usage/", api.GatewayUsageView.as_view(), name="gateway-usage"),
    path("account/", api.AccountView.as_view(), name="account"),
    path("usage/", api.UsageView.as_view(), name="usage"),
]
