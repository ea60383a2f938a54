from .views import invoices, usage
from .views import alerts as alert_views

app_name = "billing"
urlpatterns = [*usage.urlpatterns, *invoices.urlpatterns]
urlpatterns += alert_views.urlpatterns
