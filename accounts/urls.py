from django.urls import path

from . import views

# Mounted with billing's espace-client pages under the one "accounts" namespace (iafactory/urls.py).
app_name = "accounts"
urlpatterns = [
    path("espace-client/coordonnees/", views.coordonnees, name="coordonnees"),
    path("langue/", views.language_set, name="language"),
]
