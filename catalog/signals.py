"""Drop the cached public catalog whenever staff change what it shows. Cache only, no rule."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from iafactory.cache import on_recovery

from .selectors import tarifs_catalog_invalidate

CATALOG_SENDERS = (
    "catalog.Plan",
    "catalog.AIModel",
    "catalog.ModelPrice",
    "catalog.FaqEntry",
)  # billing adds its settings (billing/signals.py)


# Staff announced a price row higher than the one before it (kwargs: price, a ModelPrice).
# Sent inside the scheduling transaction; billing tells the customers (billing/signals.py).
price_announced = Signal()


def catalog_changed(sender, **kwargs) -> None:
    tarifs_catalog_invalidate()
    # Again once committed: a page rendered meanwhile may have cached the old rows.
    transaction.on_commit(tarifs_catalog_invalidate)


def connect() -> None:
    for sender in CATALOG_SENDERS:
        for signal in (post_save, post_delete):
            signal.connect(catalog_changed, sender=sender, dispatch_uid=f"catalog-cache-{sender}")
    # An edit made while Redis was unreachable could not drop the cached snapshot.
    on_recovery(tarifs_catalog_invalidate)
