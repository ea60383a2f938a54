"""Prepaid balance: credit side. h8 owns this module (debit, audit); this is the minimal
`prepaid_credit` that h11's paid recharges call, with the signature h8 commits to."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from accounts.models import Account, User

from ..models import PrepaidBalance


@transaction.atomic
def prepaid_credit(
    *, account: Account, amount: Decimal, reason: str, by: User | None = None
) -> PrepaidBalance:
    """Add `amount` (DZD HT) to the account's prepaid balance; it never expires."""
    if amount <= 0:
        raise ValueError("Le montant crédité doit être positif.")
    PrepaidBalance.objects.get_or_create(account=account)
    PrepaidBalance.objects.filter(account=account).update(balance=F("balance") + amount)
    return PrepaidBalance.objects.get(account=account)
