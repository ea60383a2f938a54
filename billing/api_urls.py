from django.urls import path  # noqa: F401

app_name = "billing_api"
urlpatterns: list = []
