"""The scheduler: the beat entries, the tasks, and a real worker on the Redis broker."""

import os
import subprocess
import sys
import time
import uuid
from copy import copy
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import connection

from accounts.models import Account
from billing.models import BillingPeriod, Invoice
from billing.periods import Month
from billing.services.periods import period_get_or_create
from billing.tasks import billing_housekeeping_task, period_close_task
from catalog.models import Plan
from iafactory.celery import _broker_folders, app
from tests.accounts.factories import AccountFactory

ALGIERS = ZoneInfo("Africa/Algiers")
ROOT = Path(__file__).resolve().parents[2]


def next_run(entry: str, *, now: datetime, last_run_at: datetime) -> datetime:
    schedule = copy(app.conf.beat_schedule[entry]["schedule"])
    schedule.nowfun = lambda: now
    return now + schedule.remaining_estimate(last_run_at)


def test_beat_runs_the_monthly_close_at_0005_on_the_first_in_algiers_time():
    entry = app.conf.beat_schedule["monthly-close"]

    after_november = next_run(
        "monthly-close",
        now=datetime(2026, 11, 30, 23, 0, tzinfo=ALGIERS),
        last_run_at=datetime(2026, 11, 1, 0, 5, tzinfo=ALGIERS),
    )
    after_december = next_run(
        "monthly-close",
        now=datetime(2026, 12, 1, 0, 6, tzinfo=ALGIERS),
        last_run_at=datetime(2026, 12, 1, 0, 5, tzinfo=ALGIERS),
    )

    assert entry["task"] == "billing.tasks.period_close_task"
    assert entry["task"] in app.tasks
    assert not entry.get("args")  # the task closes the month that just ended when it runs
    assert isinstance(entry["schedule"], crontab)
    assert str(entry["schedule"].tz) == "Africa/Algiers"
    assert after_november == datetime(2026, 12, 1, 0, 5, tzinfo=ALGIERS)
    assert after_november.astimezone(ZoneInfo("UTC")) == datetime(
        2026, 11, 30, 23, 5, tzinfo=ZoneInfo("UTC")
    )
    assert after_december == datetime(2027, 1, 1, 0, 5, tzinfo=ALGIERS)


def test_beat_runs_the_housekeeping_every_day():
    entry = app.conf.beat_schedule["daily-billing-housekeeping"]

    following = next_run(
        "daily-billing-housekeeping",
        now=datetime(2026, 11, 16, 12, 0, tzinfo=ALGIERS),
        last_run_at=datetime(2026, 11, 16, 3, 30, tzinfo=ALGIERS),
    )

    assert entry["task"] == "billing.tasks.billing_housekeeping_task"
    assert entry["task"] in app.tasks
    assert following == datetime(2026, 11, 17, 3, 30, tzinfo=ALGIERS)


def test_tasks_are_acked_late_and_retried_on_database_errors():
    from django.db import OperationalError

    for task in (period_close_task, billing_housekeeping_task):
        assert task.acks_late is True
        assert task.autoretry_for == (OperationalError,)
        assert task.max_retries == 5


def test_the_embedded_broker_folders_are_created(tmp_path):
    class Conf:
        broker_url = "filesystem://"
        broker_transport_options = {
            "data_folder_in": str(tmp_path / "broker" / "out"),
            "data_folder_out": str(tmp_path / "broker" / "out"),
            "processed_folder": str(tmp_path / "broker" / "processed"),
            "control_folder": str(tmp_path / "broker" / "control"),
        }
        beat_schedule_filename = str(tmp_path / "beat" / "celerybeat-schedule")

    class Sender:
        conf = Conf()

    _broker_folders(Sender())

    assert (tmp_path / "broker" / "out").is_dir()
    assert (tmp_path / "broker" / "processed").is_dir()
    assert (tmp_path / "broker" / "control").is_dir()
    assert (tmp_path / "beat").is_dir()


@pytest.mark.django_db
def test_the_close_task_closes_the_month_that_just_ended(freeze):
    freeze("2026-11-01 08:00 +01:00")
    account = AccountFactory(subscription__plan=Plan.objects.get(slug="starter"))
    freeze("2026-12-01 00:05 +01:00")

    summary = period_close_task.apply().get()
    again = period_close_task.apply(args=["2026-11"]).get()

    assert summary.startswith("Clôture 2026-11 : 1 compte, 1 période clôturée, 1 facture émise")
    assert (
        again == "Clôture 2026-11 : 1 compte, 0 période clôturée, 0 facture émise, 0 e-mail envoyé."
    )
    assert Invoice.objects.get(account=account).total_ttc == Decimal("595.00")


@pytest.mark.django_db
def test_the_housekeeping_task_closes_a_forgotten_month(freeze):
    freeze("2026-10-10 08:00 +01:00")
    account = AccountFactory(subscription__plan=Plan.objects.get(slug="starter"))
    period_get_or_create(account=account, month=Month(2026, 10))
    freeze("2026-11-02 03:30 +01:00")  # the close of the 1st never ran

    results = billing_housekeeping_task.apply().get()

    assert len(results) == 1
    assert Invoice.objects.get(account=account).month == date(2026, 10, 1)


def _worker_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs a Redis broker (set REDIS_URL)")
@pytest.mark.django_db(transaction=True)
# send_task always goes to the broker, as beat does: the tests' eager mode is rightly ignored.
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_real_worker_runs_the_beat_task_and_closes_the_month_end_to_end(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the test database: set DATABASE_URL (PostgreSQL)")
    # The worker runs on the real clock: the beat task closes the month before today's.
    month = Month.current().previous()
    account = AccountFactory(subscription__plan=Plan.objects.get(slug="standard"))
    Account.objects.filter(pk=account.pk).update(created_at=month.starts_at)
    period_get_or_create(account=account, month=month)
    queue = f"test-close-{uuid.uuid4().hex[:8]}"
    log = (tmp_path / "worker.log").open("w")
    env = {
        **os.environ,
        "DATABASE_URL": _worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "VAR_DIR": str(tmp_path / "var"),
    }
    command = [sys.executable, "-m", "celery", "-A", "iafactory", "worker", "--pool", "solo"]
    command += ["--queues", queue, "--loglevel", "INFO"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        entry = app.conf.beat_schedule["monthly-close"]
        app.send_task(entry["task"], args=entry.get("args", ()), queue=queue)

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and worker.poll() is None:
            if Invoice.objects.filter(account=account).exists():
                break
            time.sleep(0.25)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()

    output = (tmp_path / "worker.log").read_text()
    invoice = Invoice.objects.filter(account=account).first()
    assert invoice is not None, output[-3000:]
    assert (invoice.month, invoice.total_ht, invoice.total_ttc) == (
        month.first_day,
        Decimal("1000.00"),
        Decimal("1190.00"),
    )
    assert BillingPeriod.objects.get(account=account, month=month.first_day).status == "closed"
    assert BillingPeriod.objects.filter(account=account, month=month.next().first_day).exists()
    assert "billing.tasks.period_close_task" in output
