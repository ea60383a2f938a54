from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import urls as accounts_urls
from billing.views import espace
from iafactory import health, ratelimit
from iafactory.ratelimit import Rate

admin.site.site_header = "IAFactory — administration"
admin.site.site_title = "IAFactory"
admin.site.index_title = "Portail client et facturation"
# Staff log in through Django's own form, which allauth's limits do not cover.
admin.site.login = ratelimit.limit_posts(admin.site.login, scope="admin-login", rate=Rate(10, 300))

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:tarifs", permanent=False)),
    path("", include("catalog.urls")),
    # One "accounts" namespace for the espace client: identity pages from accounts, the
    # formula/credits/keys pages from billing (accounts does not depend on billing).
    path("", include(([*accounts_urls.urlpatterns, *espace.urlpatterns], "accounts"))),
    path("", include("billing.urls")),
    path("comptes/", include("allauth.urls")),
    path("api/v1/", include("iafactory.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg", permanent=True)),
    path("admin/", admin.site.urls),
]

handler429 = "iafactory.errors.too_many_requests"
