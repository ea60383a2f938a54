"""Allocation of an event's cost over ordered credit sources: pure arithmetic, no database."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.metering.allocation import IncludedCredits, Overage, allocate

D = Decimal


@pytest.mark.parametrize(
    ("included", "consumed", "payg", "cost", "expected"),
    [
        # (credits, overage, written off)
        ("20", "0", False, "1.625", ("1.625", "0", "0")),
        ("20", "19", False, "1.625", ("1", "0", "0.625")),
        ("20", "19", True, "1.625", ("1", "0.625", "0")),
        ("20", "20", True, "8", ("0", "8", "0")),
        ("20", "20", False, "8", ("0", "0", "8")),
        ("0", "0", False, "8", ("0", "0", "8")),  # no formula, pay-as-you-go off
        ("500", "1500", False, "8", ("0", "0", "8")),  # consumed beyond included: nothing left
        ("20", "0", True, "0", ("0", "0", "0")),
    ],
)
def test_credits_first_then_overage_when_payg_was_on_else_written_off(
    included, consumed, payg, cost, expected
):
    credits = IncludedCredits(D(included), D(consumed))
    overage = Overage(D("100"))
    sources = (credits, overage) if payg else (credits,)

    allocation = allocate(D(cost), sources)

    assert (allocation.of("credits"), allocation.of("overage"), allocation.written_off) == tuple(
        D(value) for value in expected
    )
    assert credits.consumed == D(consumed) + D(expected[0])
    assert overage.total == D("100") + D(expected[1])


def test_an_overage_ceiling_caps_pay_as_you_go_and_the_rest_is_written_off():
    overage = Overage(D("95.50"), ceiling=D("100"))

    allocation = allocate(D("10"), (IncludedCredits(D("0"), D("0")), overage))

    assert (allocation.of("overage"), allocation.written_off) == (D("4.50"), D("5.50"))
    assert overage.total == D("100.00")


@dataclass
class Prepaid:
    """A source the next issue adds: a balance spent after the included credits."""

    balance: Decimal
    name: str = "prepaid"

    @property
    def available(self) -> Decimal:
        return self.balance

    def take(self, amount: Decimal) -> None:
        self.balance -= amount


def test_a_new_source_slots_in_between_credits_and_overage():
    credits, prepaid, overage = IncludedCredits(D("2"), D("0")), Prepaid(D("3")), Overage(D("0"))

    allocation = allocate(D("10"), (credits, prepaid, overage))

    assert allocation.taken == {"credits": D("2"), "prepaid": D("3"), "overage": D("5")}
    assert (allocation.written_off, prepaid.balance) == (D("0"), D("0"))


amounts = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False)


@st.composite
def source_lists(draw):
    sources = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        kind = draw(st.sampled_from(["credits", "prepaid", "overage"]))
        if kind == "credits":
            sources.append(IncludedCredits(draw(amounts), draw(amounts), name=f"c{index}"))
        elif kind == "prepaid":
            sources.append(Prepaid(draw(amounts), name=f"p{index}"))
        else:
            ceiling = draw(st.none() | amounts)
            sources.append(Overage(draw(amounts), ceiling=ceiling, name=f"o{index}"))
    return sources


@given(cost=amounts, sources=source_lists())
def test_allocation_conserves_the_cost_respects_bounds_and_order(cost, sources):
    before = [source.available for source in sources]

    allocation = allocate(cost, sources)

    parts = [allocation.of(source.name) for source in sources]
    after = [source.available for source in sources]
    assert sum(parts, D(0)) + allocation.written_off == cost  # conservation
    assert allocation.written_off >= 0
    for part, available, left in zip(parts, before, after, strict=True):
        assert part >= 0
        if available is not None:
            assert part <= available  # no source beyond what it had
            assert left == available - part
    for index, part in enumerate(parts):
        if part > 0:  # a source takes only once every earlier one is spent
            assert all(left == 0 for left in after[:index] if left is not None)
    if allocation.written_off > 0:  # written off only once every source is spent
        assert all(left == 0 for left in after)
