"""Structured logs: the close reports its progress, rejected events their reasons, no secret."""

import logging

import pytest

from billing.metering import usage_record_batch
from billing.periods import Month
from billing.services.close import period_close
from catalog.models import Plan
from tests.accounts.factories import AccountFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_rejected_events_are_logged_once_per_batch_without_the_key(caplog, freeze):
    freeze("2026-11-16 10:00 +01:00")
    key = ApiKeyFactory(account=AccountFactory(subscription__plan=Plan.objects.get(slug="starter")))
    good = {
        "idempotency_key": "ok",
        "api_key": key.raw,
        "model": "gpt-4.1",
        "input_tokens": 1,
        "output_tokens": 1,
    }
    bad = {**good, "idempotency_key": "ko", "model": "gpt-99"}

    with caplog.at_level(logging.WARNING, logger="billing.metering.batch"):
        usage_record_batch(events=[good, bad])

    [record] = [r for r in caplog.records if getattr(r, "event", "") == "usage.rejected"]
    assert (record.accepted, record.rejected) == (1, 1)
    assert record.reasons == {"Modèle inconnu : « gpt-99 ».": 1}
    assert record.rejected_events[0]["key_prefix"] == key.prefix
    assert key.raw not in caplog.text
    assert key.raw not in str(record.__dict__)


def test_the_close_logs_its_progress_with_fields(caplog, freeze):
    freeze("2026-11-10 10:00 +01:00")
    AccountFactory(subscription__plan=Plan.objects.get(slug="standard"))
    freeze("2026-12-01 00:05 +01:00")

    with caplog.at_level(logging.INFO, logger="billing.services.close"):
        period_close(month=Month(2026, 11))

    events = {getattr(r, "event", None): r for r in caplog.records}
    assert events["close.start"].accounts_total == 1
    assert events["close.progress"].invoices == 1
    assert events["close.done"].first_number == "FA-2026-000001"
    assert events["close.done"].month == "2026-11"
