from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("tarifs/", views.tarifs, name="tarifs"),
    path("tarifs/calcul/", views.calcul, name="calcul"),
    path("documentation-api/", views.api_docs, name="api_docs"),
]
