"""Raw events past their retention: exported to CSV.gz, deleted; rollups and invoices stay."""

import csv
import gzip
from datetime import datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from billing.models import BillingPeriod, UsageDaily, UsageEvent
from billing.periods import Month
from billing.services.archive import retention_cutoff
from billing.services.rollups import usage_rollups_rebuild
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.billing.factories import UsageEventFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")


def events_of(account, month: int, count: int):
    key = ApiKeyFactory(account=account)
    return [
        UsageEventFactory(
            account=account,
            api_key=key,
            occurred_at=datetime(2026, month, 10, 12, n, tzinfo=ALGIERS),
            credits=Decimal("1.0000000001"),
            cost=Decimal("1.0000000001"),
        )
        for n in range(count)
    ]


def test_closed_months_past_retention_are_exported_then_deleted(freeze, tmp_path, settings):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory()
    august = events_of(account, 8, 3)
    events_of(account, 9, 2)  # September: within 2 months of November, kept
    BillingPeriod.objects.filter(month__lt="2026-11-01").update(status="closed")
    out = StringIO()

    call_command("usage_events_archive", "--months", "2", "--directory", str(tmp_path), stdout=out)

    assert sorted(UsageEvent.objects.values_list("occurred_at__month", flat=True)) == [9, 9]
    with gzip.open(tmp_path / "usage-events-2026-08.csv.gz", "rt", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["idempotency_key"] for row in rows] == [e.idempotency_key for e in august]
    assert (rows[0]["cost"], rows[0]["account_id"]) == ("1.0000000001", str(account.pk))
    assert "2026-08 : 3 événement(s)" in out.getvalue()
    # The rollups of August stay, and a rebuild under the retention setting leaves them alone.
    settings.USAGE_EVENTS_RETENTION_MONTHS = 2
    usage_rollups_rebuild()
    assert UsageDaily.objects.get(day__month=8).events == 3
    assert UsageDaily.objects.get(day__month=8).cost == Decimal("3.0000000003")


def test_a_rebuild_without_the_retention_setting_never_erases_an_archived_month(
    freeze, tmp_path, settings
):
    freeze("2026-11-16 10:00 +01:00")
    account = AccountFactory()
    events_of(account, 8, 3)
    events_of(account, 9, 2)
    BillingPeriod.objects.filter(month__lt="2026-11-01").update(status="closed")
    call_command("usage_events_archive", "--months", "2", "--directory", str(tmp_path))
    settings.USAGE_EVENTS_RETENTION_MONTHS = 0  # the setting never said 2

    usage_rollups_rebuild()

    august = UsageDaily.objects.get(day__month=8)
    assert (august.events, august.cost) == (3, Decimal("3.0000000003"))
    assert UsageDaily.objects.get(day__month=9).events == 2


def test_a_month_with_an_open_period_is_left_whole(freeze, tmp_path):
    freeze("2026-11-16 10:00 +01:00")
    events_of(AccountFactory(), 7, 1)
    events_of(AccountFactory(), 7, 1)
    BillingPeriod.objects.filter(pk=BillingPeriod.objects.first().pk).update(status="closed")

    out = StringIO()
    call_command("usage_events_archive", "--months", "1", "--directory", str(tmp_path), stdout=out)

    assert UsageEvent.objects.count() == 2
    assert "2026-07 ignoré : une période est encore ouverte" in out.getvalue()
    assert not list(tmp_path.iterdir())


def test_without_a_retention_the_command_refuses(settings):
    settings.USAGE_EVENTS_RETENTION_MONTHS = 0

    with pytest.raises(CommandError, match="USAGE_EVENTS_RETENTION_MONTHS"):
        call_command("usage_events_archive", "--months", "0")


def test_the_cutoff_counts_months_back_from_the_current_one():
    assert retention_cutoff(months=13, now=Month(2026, 11)) == Month(2025, 10)
