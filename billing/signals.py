"""Billing's side of what the apps below it announce: accounts and catalog import nothing from
billing, so billing connects here (BillingConfig.ready)."""

from django.db.models.signals import post_delete, post_save

from accounts.signals import account_created
from catalog import signals as catalog_signals
from catalog.terms import SalesTerms, sales_terms_reader_set

from .models import BillingSettings
from .services.periods import subscription_get_or_create


def subscription_open(sender, *, account, **kwargs) -> None:
    """Every account is a customer from its creation: its subscription starts then."""
    subscription_get_or_create(account=account)


def sales_terms_read() -> SalesTerms:
    settings = BillingSettings.load()
    return SalesTerms(tva_rate=settings.tva_rate, price_notice_days=settings.price_notice_days)


def price_increase_announced(sender, *, price, **kwargs) -> None:
    """Staff announced an increase: the customers are told by a task, once the row is saved."""
    from .tasks import price_increase_notify_task  # tasks import the services, loaded later

    price_increase_notify_task.delay_on_commit(price.pk)


def connect() -> None:
    catalog_signals.price_announced.connect(
        price_increase_announced, dispatch_uid="billing-price-increase-announced"
    )
    account_created.connect(subscription_open, dispatch_uid="billing-subscription-open")
    sales_terms_reader_set(sales_terms_read)
    # The public catalog shows the TVA rate and notice period: drop its cache when they change.
    for signal in (post_save, post_delete):
        signal.connect(
            catalog_signals.catalog_changed,
            sender=BillingSettings,
            dispatch_uid="catalog-cache-billing.BillingSettings",
        )
