from .views import alerts as alert_views
from .views import invoices, usage

app_name = "billing"
urlpatterns = [*usage.urlpatterns, *invoices.urlpatterns]
urlpatterns += alert_views.urlpatterns
