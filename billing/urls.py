from .views import invoices, usage

app_name = "billing"
urlpatterns = [*usage.urlpatterns, *invoices.urlpatterns]
