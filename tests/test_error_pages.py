"""With DEBUG off, error pages are French and in the site's layout; the admin speaks French."""

import pytest
from django.contrib.admin.sites import site
from django.contrib.admin.templatetags.admin_list import result_headers
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from accounts.models import User

pytestmark = pytest.mark.django_db
SITE_HEADER = '<header class="site-header">'


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    return settings


def test_an_unknown_address_gets_the_french_404_in_the_site_layout(client, production):
    response = client.get("/cette-page-n-existe-pas/")

    html = response.content.decode()
    assert response.status_code == 404
    assert SITE_HEADER in html
    assert "<title>Page introuvable · IAFactory</title>" in html
    assert "Cette adresse ne correspond à aucune page du portail." in html
    assert "Not Found" not in html


def test_a_forged_form_gets_the_french_csrf_page(production):
    response = Client(enforce_csrf_checks=True).post(reverse("account_login"), {})

    html = response.content.decode()
    assert response.status_code == 403
    assert SITE_HEADER in html
    assert "Formulaire expiré" in html
    assert "Forbidden" not in html


@pytest.mark.parametrize(
    ("view", "exception", "status", "title", "text"),
    [
        (defaults.bad_request, SuspiciousOperation(), 400, "Requête invalide", "pas pu comprendre"),
        (defaults.permission_denied, PermissionDenied(), 403, "Accès refusé", "pas accès"),
        (defaults.page_not_found, Http404(), 404, "Page introuvable", "aucune page"),
    ],
)
def test_django_error_views_render_the_french_pages(
    production, view, exception, status, title, text
):
    request = RequestFactory().get("/x/")

    response = view(request, exception)

    html = response.content.decode()
    assert response.status_code == status
    assert SITE_HEADER in html
    assert f"<h1>{title}</h1>" in html
    assert text in html


def test_the_500_page_renders_without_any_context(production):
    # Django's server_error renders 500.html with an empty context: no request, no user.
    html = loader.get_template("500.html").render()

    assert SITE_HEADER in html
    assert "<h1>Erreur du serveur</h1>" in html
    assert "Se connecter" in html

    response = defaults.server_error(RequestFactory().get("/x/"))
    assert response.status_code == 500
    assert "Erreur du serveur" in response.content.decode()


# English column headers Django derives from field names, and the ones staff reported.
ENGLISH = {
    "Kind",
    "Status",
    "From plan",
    "To plan",
    "Requested by",
    "Changed by",
    "Credits added",
    "Account",
    "Period",
    "Model",
    "Input tokens",
    "Output tokens",
    "Sent at",
    "Created at",
    "Closed at",
    "Idempotency key",
    "Slug",
    "Year",
    "Last",
    "Number",
    "Plan",
    "Threshold",
    "Enabled",
    "Changed at",
    "Effective at",
}


def _changelist_urls() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in site._registry
        if model._meta.app_label in {"billing", "catalog"}
    ]


def test_billing_and_catalog_admin_pages_have_no_english_column_header(client):
    client.force_login(User.objects.create_superuser("staff@iafactory.dz", "motdepasse-123"))
    urls = _changelist_urls()
    assert len(urls) >= 10

    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        if "cl" not in response.context:
            continue  # a singleton's list redirects to its form
        changelist = response.context["cl"]
        labels = {str(header["text"]).strip().lower() for header in result_headers(changelist)}
        labels |= {str(spec.title).strip().lower() for spec in changelist.filter_specs}
        assert not labels & {word.lower() for word in ENGLISH}, (url, sorted(labels))
