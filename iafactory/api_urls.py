"""Version 1 of the JSON API: each app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("catalog.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("billing.api_urls")),
]
