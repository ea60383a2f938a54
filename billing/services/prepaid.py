"""The prepaid balance's credit side: paid recharges and staff adjustments (DESIGN.md §3).

The ledger debits the balance under its own locks (metering/charge.py); every writer locks the
PrepaidBalance row, after any period lock it holds (the global lock order: periods, key spends,
balances), so the balance never goes below zero and no credit or debit is lost.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from accounts.audit import audit_record
from accounts.models import Account, AuditEvent, User

from ..models import PrepaidBalance
from ..money import CENT, ZERO, round_money


class PrepaidError(ValueError):
    """A balance change refused; the message says why, in French."""


def prepaid_balance(*, account: Account) -> Decimal:
    """The account's balance now (0 when it never had one)."""
    balance = PrepaidBalance.objects.filter(account=account).values_list("balance", flat=True)
    return balance.first() or ZERO


def _exact(value: Decimal) -> str:
    """The exact amount, at least to the centime: "12.50", "8.3749999"."""
    value = value.normalize()
    return f"{value.quantize(CENT) if value.as_tuple().exponent > -2 else value:f}"


@transaction.atomic
def prepaid_credit(
    *, account: Account, amount: Decimal, reason: str, by: User | None = None
) -> PrepaidBalance:
    """Add `amount` (DZD HT, to the centime) to the account's prepaid balance: a paid recharge,
    or a staff adjustment (negative to take back, never below zero). Recorded in the audit."""
    if not amount.is_finite() or amount != round_money(amount) or amount == 0:
        raise PrepaidError("Le montant doit être non nul, au centime près.")
    reason = reason.strip()
    if not reason:
        raise PrepaidError("Le motif est obligatoire.")
    PrepaidBalance.objects.bulk_create([PrepaidBalance(account=account)], ignore_conflicts=True)
    balance = PrepaidBalance.objects.select_for_update(no_key=True).get(account=account)
    before = balance.balance
    if before + amount < 0:
        raise PrepaidError(
            f"Le solde prépayé ({round_money(before)} DZD) ne peut pas devenir négatif."
        )
    balance.balance = before + amount
    balance.save(update_fields=["balance", "updated_at"])
    audit_record(
        action=AuditEvent.Action.PREPAID_CREDITED,
        actor=by,
        account=account,
        target=str(account),
        details={
            "montant": amount,
            "avant": _exact(before),
            "après": _exact(balance.balance),
            "motif": reason,
        },
    )
    return balance
