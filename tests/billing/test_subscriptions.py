"""The rules of DESIGN.md "Changing formula", to the centime, with frozen time."""

from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from billing.models import BillingPeriod, PayAsYouGoChange, PlanChange, Subscription
from billing.periods import Month
from billing.services.pay_as_you_go import payg_set
from billing.services.periods import current_period, period_get_or_create
from billing.services.subscriptions import (
    SubscriptionError,
    subscription_cancel_scheduled,
    subscription_change,
    subscription_schedule_downgrade,
    subscription_upgrade,
    upgrade_preview,
)
from catalog.models import Plan
from tests.accounts.factories import AccountFactory, UserFactory
from tests.catalog.factories import PlanFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")


@pytest.fixture
def plans():
    return SimpleNamespace(**{plan.slug: plan for plan in Plan.objects.all()})


def fees(period: BillingPeriod) -> list[tuple[str, date, int, Decimal]]:
    return [
        (fee.plan.slug, fee.first_day, fee.days, fee.amount)
        for fee in period.fees.select_related("plan").order_by("first_day")
    ]


def test_upgrade_on_the_16th_adds_half_the_difference_design_example(plans, freeze):
    account = AccountFactory(subscription__plan=plans.starter)
    freeze("2026-11-16 10:00 +01:00")  # 15 of November's 30 days left

    change = subscription_upgrade(account=account, plan=plans.expert)

    period = current_period(account=account)
    assert period.included_credits == Decimal("1500.00")  # 500 + (2500 - 500) * 15 / 30
    assert change.credits_added == Decimal("1000.00")
    assert fees(period) == [
        ("starter", date(2026, 11, 1), 15, Decimal("250.00")),
        ("expert", date(2026, 11, 16), 15, Decimal("1250.00")),
    ]
    assert Subscription.objects.get(account=account).plan == plans.expert


@pytest.mark.parametrize(
    ("moment", "credits_added", "starter_fee", "expert_fee"),
    [
        # November: 30 days.
        ("2026-11-01 09:00 +01:00", "2000.00", None, (date(2026, 11, 1), 30, "2500.00")),
        (
            "2026-11-15 09:00 +01:00",
            "1066.67",  # 2000 × 16 / 30 = 1066.666…
            (14, "233.33"),  # 500 × 14 / 30
            (date(2026, 11, 15), 16, "1333.33"),  # 2500 × 16 / 30
        ),
        (
            "2026-11-30 23:30 +01:00",
            "66.67",  # 2000 × 1 / 30
            (29, "483.33"),
            (date(2026, 11, 30), 1, "83.33"),
        ),
        # December: 31 days.
        ("2026-12-01 00:00 +01:00", "2000.00", None, (date(2026, 12, 1), 31, "2500.00")),
        (
            "2026-12-15 12:00 +01:00",
            "1096.77",  # 2000 × 17 / 31 = 1096.774…
            (14, "225.81"),  # 500 × 14 / 31 = 225.806…
            (date(2026, 12, 15), 17, "1370.97"),  # 2500 × 17 / 31 = 1370.967…
        ),
        (
            "2026-12-31 18:00 +01:00",
            "64.52",  # 2000 / 31 = 64.516…
            (30, "483.87"),  # 500 × 30 / 31 = 483.870…
            (date(2026, 12, 31), 1, "80.65"),  # 2500 / 31 = 80.645…
        ),
    ],
)
def test_upgrade_prorates_credits_and_fee_by_remaining_days(
    plans, freeze, moment, credits_added, starter_fee, expert_fee
):
    account = AccountFactory(subscription__plan=plans.starter)
    freeze(moment)

    change = subscription_upgrade(account=account, plan=plans.expert)

    period = current_period(account=account)
    month = Month.of(period.month)
    assert change.credits_added == Decimal(credits_added)
    assert period.included_credits == Decimal("500.00") + Decimal(credits_added)
    expected = []
    if starter_fee is not None:
        expected.append(("starter", month.first_day, starter_fee[0], Decimal(starter_fee[1])))
    expected.append(("expert", expert_fee[0], expert_fee[1], Decimal(expert_fee[2])))
    assert fees(period) == expected
    assert change.kind == PlanChange.Kind.UPGRADE
    assert change.status == PlanChange.Status.APPLIED
    assert change.from_plan == plans.starter
    assert change.to_plan == plans.expert


def test_upgrade_counts_the_day_in_algiers_time(plans, freeze):
    account = AccountFactory(subscription__plan=plans.starter)
    # 23:30 UTC on 15 November is already the 16th in Algiers.
    freeze("2026-11-15 23:30 +00:00")

    subscription_upgrade(account=account, plan=plans.expert)

    assert fees(current_period(account=account))[-1][1:3] == (date(2026, 11, 16), 15)


def test_prorated_amounts_round_half_up_to_the_centime(freeze):
    tiny = PlanFactory(slug="tiny", included_credits=Decimal("0.15"), monthly_fee=Decimal("0.15"))
    account = AccountFactory()
    freeze("2026-11-30 10:00 +01:00")  # 1 day of 30: 0.15 / 30 = 0.005

    change = subscription_upgrade(account=account, plan=tiny)

    assert change.credits_added == Decimal("0.01")
    assert fees(current_period(account=account)) == [
        ("tiny", date(2026, 11, 30), 1, Decimal("0.01"))
    ]


def test_from_no_formula_to_a_formula_is_an_immediate_start(plans, freeze):
    account = AccountFactory()
    freeze("2026-11-16 10:00 +01:00")

    change = subscription_change(account=account, plan=plans.standard)

    period = current_period(account=account)
    assert period.included_credits == Decimal("500.00")  # 1000 × 15 / 30
    assert period.plan is None  # no formula on the 1st
    assert fees(period) == [("standard", date(2026, 11, 16), 15, Decimal("500.00"))]
    assert change.kind == PlanChange.Kind.START
    assert change.status == PlanChange.Status.APPLIED
    assert change.from_plan is None
    assert change.credits_added == Decimal("500.00")


def test_two_upgrades_on_the_same_day_leave_one_fee_line_for_that_day(plans, freeze):
    account = AccountFactory(subscription__plan=plans.starter)
    freeze("2026-11-16 10:00 +01:00")

    subscription_upgrade(account=account, plan=plans.standard)
    subscription_upgrade(account=account, plan=plans.expert)

    period = current_period(account=account)
    assert period.included_credits == Decimal("1500.00")  # +250 then +750
    assert fees(period) == [
        ("starter", date(2026, 11, 1), 15, Decimal("250.00")),
        ("expert", date(2026, 11, 16), 15, Decimal("1250.00")),
    ]


def test_upgrade_keeps_what_was_already_consumed(plans, freeze):
    account = AccountFactory(subscription__plan=plans.starter)
    freeze("2026-11-16 10:00 +01:00")
    period = current_period(account=account)
    BillingPeriod.objects.filter(pk=period.pk).update(consumed=Decimal("500"))

    subscription_upgrade(account=account, plan=plans.expert)

    period.refresh_from_db()
    assert period.consumed == Decimal("500")
    assert period.remaining == Decimal("1000.00")  # 1500 included − 500


def test_upgrade_to_a_lower_formula_is_refused(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")

    with pytest.raises(SubscriptionError, match="n'est pas supérieure"):
        subscription_upgrade(account=account, plan=plans.starter)

    assert fees(current_period(account=account)) == [
        ("expert", date(2026, 11, 1), 30, Decimal("2500.00"))
    ]


def test_preview_shows_exactly_what_the_upgrade_does(plans, freeze):
    account = AccountFactory(subscription__plan=plans.starter)
    freeze("2026-11-16 10:00 +01:00")

    preview = upgrade_preview(account=account, plan=plans.expert)

    assert preview.credits_added == Decimal("1000.00")
    assert preview.included_after == Decimal("1500.00")
    assert preview.fee_now == Decimal("1250.00")
    assert preview.remaining_days == 15
    assert [(line.plan.slug, line.days, line.amount) for line in preview.fee_lines] == [
        ("starter", 15, Decimal("250.00")),
        ("expert", 15, Decimal("1250.00")),
    ]
    assert preview.month_fee_total == Decimal("1500.00")
    # A preview changes nothing.
    assert current_period(account=account).included_credits == Decimal("500.00")
    assert not PlanChange.objects.filter(account=account).exists()


def test_downgrade_is_scheduled_for_the_first_of_next_month(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")

    change = subscription_change(account=account, plan=plans.starter)

    assert change.kind == PlanChange.Kind.DOWNGRADE
    assert change.status == PlanChange.Status.SCHEDULED
    assert change.effective_at == datetime(2026, 12, 1, tzinfo=ALGIERS)
    assert Subscription.objects.get(account=account).plan == plans.expert
    period = current_period(account=account)
    assert period.included_credits == Decimal("2500.00")
    assert fees(period) == [("expert", date(2026, 11, 1), 30, Decimal("2500.00"))]


def test_scheduled_downgrade_is_applied_when_next_month_starts(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")
    current_period(account=account)
    change = subscription_schedule_downgrade(account=account, plan=plans.starter)
    freeze("2026-12-01 00:05 +01:00")

    december = period_get_or_create(account=account, month=Month(2026, 12))

    assert december.plan == plans.starter
    assert december.included_credits == Decimal("500.00")
    assert fees(december) == [("starter", date(2026, 12, 1), 31, Decimal("500.00"))]
    assert Subscription.objects.get(account=account).plan == plans.starter
    change.refresh_from_db()
    assert change.status == PlanChange.Status.APPLIED
    november = BillingPeriod.objects.get(account=account, month=date(2026, 11, 1))
    assert november.included_credits == Decimal("2500.00")


def test_cancelled_downgrade_leaves_next_month_on_the_current_formula(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")
    subscription_schedule_downgrade(account=account, plan=plans.starter)

    cancelled = subscription_cancel_scheduled(account=account)

    assert cancelled.status == PlanChange.Status.CANCELLED
    freeze("2026-12-01 00:05 +01:00")
    december = period_get_or_create(account=account, month=Month(2026, 12))
    assert december.plan == plans.expert
    assert december.included_credits == Decimal("2500.00")
    assert subscription_cancel_scheduled(account=account) is None


def test_formula_to_none_is_a_downgrade_to_no_credits_next_month(plans, freeze):
    account = AccountFactory(subscription__plan=plans.standard, subscription__pay_as_you_go=True)
    freeze("2026-11-16 10:00 +01:00")

    change = subscription_change(account=account, plan=None)

    assert change.to_plan is None
    assert change.status == PlanChange.Status.SCHEDULED
    assert current_period(account=account).included_credits == Decimal("1000.00")
    freeze("2026-12-01 08:00 +01:00")
    december = current_period(account=account)
    assert december.plan is None
    assert december.included_credits == Decimal("0")
    assert fees(december) == []
    assert Subscription.objects.get(account=account).plan is None


def test_a_new_downgrade_replaces_the_scheduled_one(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")
    first = subscription_change(account=account, plan=plans.standard)

    second = subscription_change(account=account, plan=plans.starter)

    first.refresh_from_db()
    assert first.status == PlanChange.Status.CANCELLED
    assert second.status == PlanChange.Status.SCHEDULED
    assert PlanChange.objects.filter(account=account, status="scheduled").count() == 1


def test_equal_credits_is_a_change_at_the_first_of_next_month(plans, freeze):
    twin = PlanFactory(slug="standard-bis", included_credits=Decimal("1000.00"))
    account = AccountFactory(subscription__plan=plans.standard)
    freeze("2026-11-16 10:00 +01:00")

    change = subscription_change(account=account, plan=twin)

    assert change.status == PlanChange.Status.SCHEDULED
    assert change.effective_at == datetime(2026, 12, 1, tzinfo=ALGIERS)


def test_an_upgrade_cancels_a_scheduled_downgrade(plans, freeze):
    account = AccountFactory(subscription__plan=plans.standard)
    freeze("2026-11-10 10:00 +01:00")
    downgrade = subscription_change(account=account, plan=plans.starter)

    subscription_change(account=account, plan=plans.expert)

    downgrade.refresh_from_db()
    assert downgrade.status == PlanChange.Status.CANCELLED
    freeze("2026-12-01 08:00 +01:00")
    assert current_period(account=account).plan == plans.expert


def test_choosing_the_current_formula_again_cancels_the_scheduled_change(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")
    subscription_change(account=account, plan=plans.starter)

    change = subscription_change(account=account, plan=plans.expert)

    assert change.status == PlanChange.Status.CANCELLED
    assert not PlanChange.objects.filter(account=account, status="scheduled").exists()


def test_choosing_the_current_formula_with_nothing_scheduled_is_refused(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")

    with pytest.raises(SubscriptionError, match="déjà la vôtre"):
        subscription_change(account=account, plan=plans.expert)
    with pytest.raises(SubscriptionError, match="déjà aucune formule"):
        subscription_change(account=AccountFactory(), plan=None)


def test_an_upgrade_on_the_first_applies_a_downgrade_due_that_day_first(plans, freeze):
    account = AccountFactory(subscription__plan=plans.expert)
    freeze("2026-11-16 10:00 +01:00")
    current_period(account=account)
    subscription_change(account=account, plan=plans.starter)
    freeze("2026-12-01 09:00 +01:00")

    change = subscription_change(account=account, plan=plans.standard)

    assert change.from_plan == plans.starter
    assert change.kind == PlanChange.Kind.UPGRADE
    december = current_period(account=account)
    assert december.included_credits == Decimal("1000.00")
    assert fees(december) == [("standard", date(2026, 12, 1), 31, Decimal("1000.00"))]


def test_payg_switch_is_recorded_with_its_time_and_author(freeze):
    account = AccountFactory()
    user = UserFactory()
    moment = freeze("2026-11-16 10:00 +01:00")

    subscription = payg_set(account=account, enabled=True, by=user)
    payg_set(account=account, enabled=True)

    assert subscription.pay_as_you_go is True
    assert subscription.pay_as_you_go_changed_at == moment
    history = list(
        PayAsYouGoChange.objects.filter(account=account).values_list(
            "enabled", "changed_at", "changed_by"
        )
    )
    assert history == [(True, moment, user.pk), (True, moment, None)]
    freeze("2026-11-20 10:00 +01:00")
    assert payg_set(account=account, enabled=False).pay_as_you_go is False
    assert Subscription.objects.get(account=account).pay_as_you_go is False
    assert PayAsYouGoChange.objects.filter(account=account).count() == 3
