"""What accounts tells the apps above it (billing), which it does not import."""

from django.dispatch import Signal

# Sent by account_create inside its transaction, with `account`: a receiver that fails undoes it.
account_created = Signal()
