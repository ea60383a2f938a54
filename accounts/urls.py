from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("espace-client/", views.dashboard, name="dashboard"),
    path("espace-client/coordonnees/", views.coordonnees, name="coordonnees"),
    path("espace-client/formule/", views.formule, name="formule"),
    path("espace-client/formule/apercu/", views.formule_apercu, name="formule_apercu"),
    path("espace-client/formule/annuler/", views.formule_annuler, name="formule_annuler"),
    path("espace-client/api/", views.api, name="api"),
    path("espace-client/api/cles/", views.api_key_create, name="api_key_create"),
    path(
        "espace-client/api/cles/<int:key_id>/revoquer/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
    path("espace-client/api/pay-as-you-go/", views.payg, name="payg"),
]
