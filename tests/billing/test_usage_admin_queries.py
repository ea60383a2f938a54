"""The admin's usage-event list and period page never read the whole events table: no full
count, a month's range by default, accounts and keys resolved before the events are read."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from billing.models import BillingPeriod
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.factories import UsageEventFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
LIST = "/admin/billing/usageevent/"


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(email="staff@iafactory.dz", password="x-Secret-123")
    client.force_login(user)
    return client


@pytest.fixture
def events(freeze):
    freeze("2026-11-16 10:00 +01:00")
    sonatrach = AccountFactory(name="Sonatrach Digital", owner__email="dsi@sonatrach.dz")
    key = ApiKeyFactory(account=sonatrach)
    other = AccountFactory(name="Cevital Agro", owner__email="it@cevital.dz")
    this_month = datetime(2026, 11, 3, 9, tzinfo=ALGIERS)
    last_month = datetime(2026, 10, 30, 9, tzinfo=ALGIERS)
    return {
        "account": sonatrach,
        "key": key,
        "now": UsageEventFactory(
            account=sonatrach, api_key=key, occurred_at=this_month, idempotency_key="req-now"
        ),
        "before": UsageEventFactory(
            account=sonatrach, api_key=key, occurred_at=last_month, idempotency_key="req-old"
        ),
        "other": UsageEventFactory(account=other, occurred_at=this_month, idempotency_key="x-1"),
    }


def event_queries(queries):
    return [q["sql"] for q in queries if '"billing_usageevent"' in q["sql"]]


def listed(response):
    return {event.idempotency_key for event in response.context["cl"].result_list}


def assert_cheap(queries):
    """No COUNT over the unbounded table, no join of events to users."""
    sqls = event_queries(queries)
    assert sqls, "the list did not read events"
    for sql in sqls:
        if "COUNT(" in sql.upper():
            assert re.search(r"LIMIT\s+2001", sql), sql
        assert '"accounts_user"' not in sql, sql


def get(staff, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(LIST, params or {})
    assert response.status_code == 200
    assert_cheap(queries)
    return response, event_queries(queries)


def test_the_list_shows_the_current_month_by_default_without_counting_the_table(staff, events):
    response, sqls = get(staff)

    assert listed(response) == {"req-now", "x-1"}
    assert all('"occurred_at" >=' in sql for sql in sqls)
    assert response.context["cl"].result_count == 2


def test_another_month_or_every_month_is_a_choice(staff, events):
    october, _ = get(staff, {"mois": "2026-10"})
    every, _ = get(staff, {"mois": "tous"})

    assert listed(october) == {"req-old"}
    assert listed(every) == {"req-now", "req-old", "x-1"}


def test_search_by_customer_email_resolves_the_account_first(staff, events):
    response, sqls = get(staff, {"q": "DSI@sonatrach.dz", "mois": "tous"})

    assert listed(response) == {"req-now", "req-old"}
    assert all("account_id" in sql and " IN " in sql for sql in sqls)


def test_search_by_organisation_key_prefix_or_idempotency_key(staff, events):
    by_name, _ = get(staff, {"q": "cevital"})
    by_prefix, _ = get(staff, {"q": events["key"].prefix, "mois": "tous"})
    by_idempotency, _ = get(staff, {"q": "req-old", "mois": "2026-10"})
    nothing, _ = get(staff, {"q": "req-ol"})

    assert listed(by_name) == {"x-1"}
    assert listed(by_prefix) == {"req-now", "req-old"}
    assert listed(by_idempotency) == {"req-old"}
    assert listed(nothing) == set()


def test_an_idempotency_key_is_looked_up_account_by_account_in_the_unique_index(staff, events):
    """No index leads with the key: each account probes (account, idempotency_key) once, then
    the list reads the events found by id."""
    response, sqls = get(staff, {"q": "req-now"})
    with_account, _ = get(staff, {"q": "req-now", "compte": str(events["account"].pk)})

    assert listed(response) == {"req-now"}
    assert listed(with_account) == {"req-now"}
    (probe,) = [sql for sql in sqls if '"idempotency_key" = ' in sql]
    assert re.search(r'"account_id" = \("accounts_account"\."id"\)', probe), probe


def test_the_account_filter_resolves_the_account_first(staff, events):
    by_name, sqls = get(staff, {"compte": "sonatrach"})
    by_number, _ = get(staff, {"compte": str(events["account"].pk), "mois": "tous"})

    assert listed(by_name) == {"req-now"}
    assert listed(by_number) == {"req-now", "req-old"}
    assert all('"accounts_account"' not in sql.split("WHERE")[1] for sql in sqls)


def test_the_count_is_capped(staff, events, monkeypatch):
    monkeypatch.setattr("billing.admin.usage.CappedCountPaginator.CAP", 1)

    with CaptureQueriesContext(connection) as queries:
        response = staff.get(LIST, {"mois": "tous"})

    assert response.context["cl"].result_count == 2  # "more than 1"
    counts = [sql for sql in event_queries(queries) if "COUNT(" in sql.upper()]
    assert counts
    assert all(re.search(r"LIMIT\s+2\b", sql) for sql in counts)


def test_the_period_page_links_to_its_events_without_reading_them(staff, events):
    period = BillingPeriod.objects.get(account=events["account"], month="2026-11-01")

    with CaptureQueriesContext(connection) as queries:
        response = staff.get(f"/admin/billing/billingperiod/{period.pk}/change/")

    assert response.status_code == 200
    assert event_queries(queries) == []
    html = response.content.decode()
    assert f"/admin/billing/usageevent/?compte={events['account'].pk}&amp;mois=2026-11" in html
