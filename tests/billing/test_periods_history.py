"""A period made late takes the formula of its month's 1st from the formula-change history, in
the close's bulk creation as in period_get_or_create (issue 9 §4)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import BillingPeriod, Invoice, PlanChange, Subscription
from billing.periods import Month
from billing.services.close import period_close, periods_close_overdue
from billing.services.periods import period_get_or_create, periods_ensure
from billing.services.subscriptions import (
    SubscriptionError,
    subscription_change,
    subscription_schedule_downgrade,
    subscription_upgrade,
)
from catalog.models import Plan
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
OCTOBER, NOVEMBER, DECEMBER = Month(2026, 10), Month(2026, 11), Month(2026, 12)


@pytest.fixture
def plans():
    return SimpleNamespace(**{plan.slug: plan for plan in Plan.objects.all()})


def terms(period: BillingPeriod) -> tuple:
    return (
        period.plan.slug if period.plan else None,
        period.included_credits,
        [
            (fee.plan.slug, fee.first_day, fee.days, fee.amount)
            for fee in period.fees.select_related("plan").order_by("first_day")
        ],
    )


def period_of(account, month: Month) -> BillingPeriod:
    return BillingPeriod.objects.get(account=account, month=month.first_day)


def test_a_formula_chosen_at_00_02_on_the_1st_is_not_billed_for_the_month_before(plans, freeze):
    freeze("2026-11-25 15:00 +01:00")
    account = AccountFactory(subscription__started_at=datetime(2026, 11, 25, 15, tzinfo=ALGIERS))
    freeze("2026-12-01 00:02 +01:00")
    subscription_change(account=account, plan=plans.expert)
    freeze("2026-12-01 00:05 +01:00")

    outcome = period_close(month=NOVEMBER)

    assert (outcome.periods_closed, outcome.invoices) == (1, 0)
    assert not Invoice.objects.exists()
    assert terms(period_of(account, NOVEMBER)) == (None, Decimal("0"), [])
    assert terms(period_of(account, DECEMBER)) == (
        None,  # the formula of 1 December at 00:00, then Expert from 00:02 for the whole month
        Decimal("2500.00"),
        [("expert", date(2026, 12, 1), 31, Decimal("2500.00"))],
    )


def test_the_housekeeping_does_not_bill_october_for_a_formula_chosen_on_1_november(plans, freeze):
    freeze("2026-09-10 09:00 +01:00")
    account = AccountFactory(subscription__started_at=datetime(2026, 9, 10, 9, tzinfo=ALGIERS))
    freeze("2026-11-01 10:00 +01:00")
    subscription_change(account=account, plan=plans.standard)
    freeze("2026-11-02 03:30 +01:00")  # the beat was down at 00:05 on the 1st

    results = periods_close_overdue()

    assert [(str(r.month), r.periods_closed, r.invoices) for r in results] == [("2026-10", 1, 0)]
    assert not Invoice.objects.exists()
    assert terms(period_of(account, OCTOBER)) == (None, Decimal("0"), [])
    assert terms(period_of(account, NOVEMBER)) == (
        None,
        Decimal("1000.00"),
        [("standard", date(2026, 11, 1), 30, Decimal("1000.00"))],
    )


def test_a_period_made_late_for_a_month_with_an_upgrade_equals_the_one_made_live(plans, freeze):
    account = AccountFactory(subscription__plan=plans.starter)
    freeze("2026-11-16 10:00 +01:00")
    subscription_upgrade(account=account, plan=plans.expert)  # makes November's period live
    live = terms(period_of(account, NOVEMBER))
    assert live == (
        "starter",
        Decimal("1500.00"),
        [
            ("starter", date(2026, 11, 1), 15, Decimal("250.00")),
            ("expert", date(2026, 11, 16), 15, Decimal("1250.00")),
        ],
    )
    BillingPeriod.objects.filter(account=account).delete()  # as if it had never been made
    freeze("2026-12-01 00:05 +01:00")

    period_close(month=NOVEMBER)

    assert terms(period_of(account, NOVEMBER)) == live
    assert Invoice.objects.get(account=account).total_ht == Decimal("1500.00")
    assert terms(period_of(account, DECEMBER)) == (
        "expert",
        Decimal("2500.00"),
        [("expert", date(2026, 12, 1), 31, Decimal("2500.00"))],
    )
    assert terms(period_get_or_create(account=account, month=OCTOBER)) == (
        "starter",
        Decimal("500.00"),
        [("starter", date(2026, 10, 1), 31, Decimal("500.00"))],
    )


def test_a_due_downgrade_is_applied_once_and_earlier_months_keep_their_formula(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")
    change = subscription_schedule_downgrade(account=account, plan=plans.starter)
    BillingPeriod.objects.filter(account=account).delete()
    freeze("2026-12-03 09:00 +01:00")  # nothing touched the account since

    periods_ensure(account_ids=[account.pk], month=OCTOBER)

    change.refresh_from_db()
    assert change.status == PlanChange.Status.APPLIED
    assert Subscription.objects.get(account=account).plan == plans.starter
    assert terms(period_of(account, OCTOBER))[:2] == ("expert", Decimal("2500.00"))
    assert terms(period_get_or_create(account=account, month=NOVEMBER))[:2] == (
        "expert",
        Decimal("2500.00"),
    )
    assert terms(period_get_or_create(account=account, month=DECEMBER)) == (
        "starter",
        Decimal("500.00"),
        [("starter", date(2026, 12, 1), 31, Decimal("500.00"))],
    )
    assert PlanChange.objects.filter(account=account).count() == 1


def test_the_close_and_period_get_or_create_make_the_same_periods(plans, freeze):
    freeze("2026-09-20 09:00 +01:00")
    accounts = {
        "none": AccountFactory(),
        "starter": AccountFactory(subscription__plan=plans.starter),
        "chose_on_the_1st": AccountFactory(),
        "upgraded_mid_month": AccountFactory(subscription__plan=plans.starter),
        "downgraded": AccountFactory(subscription__plan=plans.expert),
    }
    freeze("2026-10-20 09:00 +01:00")
    subscription_schedule_downgrade(account=accounts["downgraded"], plan=None)
    freeze("2026-11-01 10:00 +01:00")
    subscription_change(account=accounts["chose_on_the_1st"], plan=plans.standard)
    freeze("2026-11-20 10:00 +01:00")
    subscription_change(account=accounts["upgraded_mid_month"], plan=plans.standard)
    BillingPeriod.objects.all().delete()
    ids = [account.pk for account in accounts.values()]
    freeze("2026-12-01 00:05 +01:00")

    in_bulk = {}
    for month in (OCTOBER, NOVEMBER):
        assert periods_ensure(account_ids=ids, month=month) == len(ids)
        in_bulk[month] = {pk: terms(period_of(pk, month)) for pk in ids}
    BillingPeriod.objects.all().delete()
    one_by_one = {
        month: {
            a.pk: terms(period_get_or_create(account=a, month=month)) for a in accounts.values()
        }
        for month in (OCTOBER, NOVEMBER)
    }

    assert in_bulk == one_by_one
    november = {name: in_bulk[NOVEMBER][account.pk][:2] for name, account in accounts.items()}
    assert november == {
        "none": (None, Decimal("0")),
        "starter": ("starter", Decimal("500.00")),
        "chose_on_the_1st": (None, Decimal("1000.00")),
        "upgraded_mid_month": ("starter", Decimal("683.33")),  # 500 + 500 × 11/30
        "downgraded": (None, Decimal("0")),
    }
    assert in_bulk[OCTOBER][accounts["downgraded"].pk][:2] == ("expert", Decimal("2500.00"))
    assert in_bulk[OCTOBER][accounts["chose_on_the_1st"].pk][:2] == (None, Decimal("0"))


# --- property: random formula changes over two months vs the formula in force on each 1st ------

PLAN_SLUGS = [None, "starter", "standard", "expert"]
CREDITS = {None: Decimal(0), "starter": Decimal(500), "standard": Decimal(1000)}
CREDITS["expert"] = Decimal(2500)

changes = st.lists(
    st.tuples(
        st.integers(0, 60),  # day after 1 November
        st.integers(1, 23),  # hour (never exactly midnight: the 1st's own instant)
        st.sampled_from(PLAN_SLUGS),
    ),
    max_size=6,
    unique_by=lambda step: step[:2],  # one change per instant (and no None/str comparison)
).map(sorted)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=changes, start=st.sampled_from(PLAN_SLUGS))
def test_periods_made_late_match_the_formula_of_each_1st_and_the_live_periods(
    plans, freeze, steps, start
):
    freeze("2026-10-20 09:00 +01:00")
    account = AccountFactory(subscription__plan=getattr(plans, start) if start else None)
    # The simple model: upgrades at once, downgrades on the next 1st, the latest choice wins.
    held, scheduled = start, None
    on_the_1st = {}
    first = datetime(2026, 11, 1, tzinfo=ALGIERS)
    for day, hour, slug in steps:
        moment = first + timedelta(days=day, hours=hour)
        month = Month.of(moment)
        for past in (NOVEMBER, DECEMBER, Month(2027, 1)):
            if past <= month and past not in on_the_1st:
                if scheduled is not None and past.first_day > scheduled[1]:
                    held, scheduled = scheduled[0], None
                on_the_1st[past] = held
        freeze(moment)
        try:
            subscription_change(account=account, plan=getattr(plans, slug) if slug else None)
        except SubscriptionError:
            assert (slug, scheduled) == (held, None)
            continue
        if slug == held:
            scheduled = None
        elif CREDITS[slug] > CREDITS[held]:
            held, scheduled = slug, None
        else:
            scheduled = (slug, month.first_day)
    freeze("2027-01-05 09:00 +01:00")
    for past in (NOVEMBER, DECEMBER, Month(2027, 1)):
        if past not in on_the_1st:
            if scheduled is not None and past.first_day > scheduled[1]:
                held, scheduled = scheduled[0], None
            on_the_1st[past] = held
    months = (OCTOBER, NOVEMBER, DECEMBER, Month(2027, 1))
    live = {
        month: terms(period)
        for month in months
        for period in BillingPeriod.objects.filter(account=account, month=month.first_day)
    }

    BillingPeriod.objects.filter(account=account).delete()
    late = {month: terms(period_get_or_create(account=account, month=month)) for month in months}

    assert {month: late[month] for month in live} == live
    assert late[OCTOBER][:2] == (start, CREDITS[start])
    for month, slug in on_the_1st.items():
        if month not in live:  # untouched that month: the formula of the 1st, whole
            assert late[month][:2] == (slug, CREDITS[slug])
        else:
            assert late[month][0] == slug
