from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

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
    path("", include("accounts.urls")),
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
