from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes clients"

    def ready(self) -> None:
        from . import language  # noqa: F401 (connects the log-in receiver)
