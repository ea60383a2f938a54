"""Formula changes and pay-as-you-go toggles racing on one account (PostgreSQL row locks)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import PayAsYouGoChange, PlanChange, Subscription
from billing.services.pay_as_you_go import payg_set
from billing.services.periods import current_period
from billing.services.subscriptions import SubscriptionError, subscription_change
from catalog.models import Plan
from tests.accounts.factories import AccountFactory
from tests.conftest import postgres_only

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    postgres_only(),
]


def race(*calls):
    """Run the calls in threads released together; returns what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # the test inspects it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def fees(period):
    return [
        (fee.plan.slug, fee.first_day, fee.days, fee.amount)
        for fee in period.fees.select_related("plan").order_by("first_day")
    ]


def test_identical_upgrades_at_once_apply_once(freeze):
    starter, expert = Plan.objects.get(slug="starter"), Plan.objects.get(slug="expert")
    account = AccountFactory(subscription__plan=starter)
    freeze("2026-11-16 10:00 +01:00")
    current_period(account=account)  # the race is on the change, not on creating the period

    results = race(*[lambda: subscription_change(account=account, plan=expert)] * 4)

    assert sorted(type(result).__name__ for result in results) == [
        "PlanChange",
        *["SubscriptionError"] * 3,
    ]
    period = current_period(account=account)
    assert period.included_credits == Decimal("1500.00")
    assert fees(period) == [
        ("starter", date(2026, 11, 1), 15, Decimal("250.00")),
        ("expert", date(2026, 11, 16), 15, Decimal("1250.00")),
    ]
    assert PlanChange.objects.filter(account=account, status="applied").count() == 1


def test_two_different_upgrades_end_on_the_highest_with_consistent_credits(freeze):
    plans = {plan.slug: plan for plan in Plan.objects.all()}
    account = AccountFactory(subscription__plan=plans["starter"])
    freeze("2026-11-16 10:00 +01:00")
    current_period(account=account)

    results = race(
        lambda: subscription_change(account=account, plan=plans["standard"]),
        lambda: subscription_change(account=account, plan=plans["expert"]),
    )

    # Whichever went first, Expert holds from the 16th and the credits add up to it.
    assert not any(
        isinstance(result, Exception) and not isinstance(result, SubscriptionError)
        for result in results
    )
    assert Subscription.objects.get(account=account).plan == plans["expert"]
    period = current_period(account=account)
    assert period.included_credits == Decimal("1500.00")
    assert fees(period) == [
        ("starter", date(2026, 11, 1), 15, Decimal("250.00")),
        ("expert", date(2026, 11, 16), 15, Decimal("1250.00")),
    ]
    applied = PlanChange.objects.filter(account=account, status="applied")
    assert sum(change.credits_added for change in applied) == Decimal("1000.00")


def test_first_change_of_a_month_from_many_requests_creates_one_period(freeze):
    plans = {plan.slug: plan for plan in Plan.objects.all()}
    account = AccountFactory(subscription__plan=plans["starter"])
    freeze("2026-11-16 10:00 +01:00")

    race(
        *[lambda: subscription_change(account=account, plan=plans["expert"]) for _ in range(4)],
        *[lambda: payg_set(account=account, enabled=True) for _ in range(4)],
    )

    assert account.periods.count() == 1
    assert current_period(account=account).included_credits == Decimal("1500.00")


def test_concurrent_payg_toggles_leave_the_flag_equal_to_the_last_recorded_change(freeze):
    account = AccountFactory()
    freeze("2026-11-16 10:00 +01:00")

    results = race(
        *[lambda on=(i % 2 == 0): payg_set(account=account, enabled=on) for i in range(8)]
    )

    assert not any(isinstance(result, Exception) for result in results)
    history = list(PayAsYouGoChange.objects.filter(account=account).order_by("changed_at", "pk"))
    assert len(history) == 8
    assert Subscription.objects.get(account=account).pay_as_you_go is history[-1].enabled
