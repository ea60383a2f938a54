from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Facturation"

    def ready(self) -> None:
        from . import signals

        signals.connect()
