"""Allocation of an event's cost over ordered credit sources: pure arithmetic, no database."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.metering.allocation import IncludedCredits, KeyBudget, Overage, Prepaid, allocate

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


def test_a_new_source_slots_in_between_credits_and_overage():
    credits, prepaid, overage = IncludedCredits(D("2"), D("0")), Prepaid(D("3")), Overage(D("0"))

    allocation = allocate(D("10"), (credits, prepaid, overage))

    assert allocation.taken == {"credits": D("2"), "prepaid": D("3"), "overage": D("5")}
    assert (allocation.written_off, prepaid.balance, prepaid.used) == (D("0"), D("0"), D("3"))


@pytest.mark.parametrize(
    ("case", "state", "cost", "expected"),
    [
        # state: (included, consumed, balance, overage so far, ceiling, key charged, budget);
        # ceiling "off": pay-as-you-go off, None: on without ceiling; budget None: no budget.
        # expected: (credits, prepaid, overage, written off, key charged after)
        ("credits alone", ("20", "0", "5", "0", None, "0", None), "8", ("8", "0", "0", "0", "8")),
        (
            "credits then prepaid",
            ("20", "18", "5", "0", None, "0", None),
            "4",
            ("2", "2", "0", "0", "4"),
        ),
        (
            "prepaid partly, then overage",
            ("20", "20", "1.5", "0", None, "0", None),
            "4",
            ("0", "1.5", "2.5", "0", "4"),
        ),
        (
            "credits, prepaid, overage up to the ceiling, write-off",
            ("10", "9", "2", "95", "100", "0", None),
            "10",
            ("1", "2", "5", "2", "8"),
        ),
        (
            "prepaid, payg off: the rest written off",
            ("0", "0", "3", "0", "off", "0", None),
            "5",
            ("0", "3", "0", "2", "3"),
        ),
        (
            "ceiling already reached",
            ("0", "0", "0", "100", "100", "0", None),
            "5",
            ("0", "0", "0", "5", "0"),
        ),
        (
            "ceiling raised mid-month: overage resumes from the total so far",
            ("0", "0", "0", "100", "150", "0", None),
            "70",
            ("0", "0", "50", "20", "50"),
        ),
        (
            "ceiling lowered under the total: nothing more",
            ("0", "0", "0", "100", "60", "0", None),
            "7",
            ("0", "0", "0", "7", "0"),
        ),
        (
            "key budget reached first, before any source",
            ("20", "0", "5", "0", None, "9", "10"),
            "4",
            ("1", "0", "0", "3", "10"),
        ),
        (
            "key budget over credits and prepaid",
            ("20", "19", "5", "0", None, "0", "4"),
            "10",
            ("1", "3", "0", "6", "4"),
        ),
        (
            "key budget spent: all written off, sources untouched",
            ("20", "0", "5", "0", None, "10", "10"),
            "3",
            ("0", "0", "0", "3", "10"),
        ),
        (
            "budget and ceiling both bind: the smaller wins",
            ("0", "0", "0", "0", "3", "0", "5"),
            "8",
            ("0", "0", "3", "5", "3"),
        ),
    ],
)
def test_every_source_order(case, state, cost, expected):
    included, consumed, balance, overage_total, ceiling, charged, budget = state
    credits = IncludedCredits(D(included), D(consumed))
    prepaid = Prepaid(D(balance))
    sources = [credits, prepaid]
    if ceiling != "off":
        sources.append(Overage(D(overage_total), ceiling=None if ceiling is None else D(ceiling)))
    key = KeyBudget(D(charged), None if budget is None else D(budget))

    allocation = allocate(D(cost), sources, key=key)

    got = (
        allocation.of("credits"),
        allocation.of("prepaid"),
        allocation.of("overage"),
        allocation.written_off,
        key.charged,
    )
    assert got == tuple(D(value) for value in expected), case
    assert prepaid.balance == D(balance) - D(expected[1])
    assert credits.consumed == D(consumed) + D(expected[0])


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


@given(
    cost=amounts,
    sources=source_lists(),
    charged=amounts,
    budget=st.none() | amounts,
)
def test_allocation_conserves_the_cost_respects_bounds_and_order(cost, sources, charged, budget):
    before = [source.available for source in sources]
    key = KeyBudget(charged, budget)
    key_room = key.available

    allocation = allocate(cost, sources, key=key)

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
    taken = sum(parts, D(0))
    assert key.charged == charged + taken  # the key is charged what the sources took
    if key_room is not None:
        assert taken <= key_room  # never beyond the key's budget
    if allocation.written_off > 0:  # written off only once every source or the budget is spent
        assert all(left == 0 for left in after) or taken == key_room
