"""The amount sent to Chargily is the invoice's amount, to the centime, in the JSON text."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.chargily import json_exact, wire_amount

centimes = st.integers(min_value=1, max_value=10**15)


@given(centimes)
def test_every_two_decimal_amount_reads_back_exactly(cents):
    amount = Decimal(cents).scaleb(-2)
    text = json_exact({"amount": amount, "metadata": [{"reference": "FA-2026-000001"}]})
    assert json.loads(text, parse_float=Decimal)["amount"] == amount


@given(st.integers(min_value=0, max_value=10**15))
def test_whole_dinars_go_as_integers(dinars):
    assert wire_amount(Decimal(dinars).quantize(Decimal("0.01"))) == str(dinars)
    assert json.loads(json_exact({"amount": Decimal(dinars)}))["amount"] == dinars


@pytest.mark.parametrize("amount", ["0.001", "12.345"])
def test_an_amount_the_wire_cannot_carry_is_refused_not_rounded(amount):
    with pytest.raises(ValueError, match="exactly"):
        wire_amount(Decimal(amount))
