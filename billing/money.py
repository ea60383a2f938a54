"""Money in DZD: exact Decimals in the ledger, rounded in one place only."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
# Exact event costs: token counts × prices with 4 decimals / 1 000 000 need 10 places.
LEDGER_DIGITS = {"max_digits": 28, "decimal_places": 10}
AMOUNT_DIGITS = {"max_digits": 14, "decimal_places": 2}


def round_money(amount: Decimal) -> Decimal:
    """Round to the centime, half up: the only rounding rule of the billing system."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
