from . import chargily_standin
from .views import alerts as alert_views
from .views import invoices, payments, usage

app_name = "billing"
urlpatterns = [*usage.urlpatterns, *invoices.urlpatterns]
urlpatterns += payments.urlpatterns
urlpatterns += alert_views.urlpatterns
urlpatterns += chargily_standin.urlpatterns  # 404 unless CHARGILY_STANDIN
