from . import chargily_standin
from .views import invoices, payments, usage

app_name = "billing"
urlpatterns = [*usage.urlpatterns, *invoices.urlpatterns]
urlpatterns += payments.urlpatterns  # h11
urlpatterns += chargily_standin.urlpatterns  # h11: 404 unless CHARGILY_STANDIN
