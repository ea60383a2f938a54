from django.urls import path

from .api import EstimateView, ModelListView, PlanListView

app_name = "catalog_api"
urlpatterns = [
    path("models/", ModelListView.as_view(), name="models"),
    path("plans/", PlanListView.as_view(), name="plans"),
    path("estimate/", EstimateView.as_view(), name="estimate"),
]
