import logging

import pytest

from gateway.errors import PortalUnavailable
from gateway.reporter import UsageReporter
from gateway.spool import Spool


class FakePortal:
    """Answers like POST /api/v1/gateway/usage/, remembering what it charged."""

    def __init__(self):
        self.down = False
        self.batches: list[list[str]] = []
        self.charged: dict[str, int] = {}
        self.reject: dict[str, str] = {}

    def send(self, events):
        if self.down:
            raise PortalUnavailable("connection refused")
        self.batches.append([e["idempotency_key"] for e in events])
        results = []
        for e in events:
            key = e["idempotency_key"]
            if key in self.reject:
                results.append(
                    {"idempotency_key": key, "status": "rejected", "error": self.reject[key]}
                )
            elif key in self.charged:
                results.append({"idempotency_key": key, "status": "duplicate", "cost": "1.00"})
            else:
                self.charged[key] = 1
                results.append({"idempotency_key": key, "status": "accepted", "cost": "1.00"})
        return results


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def event(n: int) -> dict:
    return {"idempotency_key": f"appel-{n}", "api_key": "iaf_x", "model": "gpt-4.1"}


@pytest.fixture
def portal():
    return FakePortal()


@pytest.fixture
def clock():
    return Clock()


def reporter(tmp_path, portal, clock, **options) -> UsageReporter:
    options = {"batch_size": 1000, "flush_seconds": 1.0, "retry_max_seconds": 30.0} | options
    return UsageReporter(
        spool=Spool(tmp_path / "spool.jsonl"), send=portal.send, clock=clock, **options
    )


def test_events_are_sent_in_batches_of_at_most_the_batch_size_in_arrival_order(
    tmp_path, portal, clock
):
    usage = reporter(tmp_path, portal, clock, batch_size=1000)
    for n in range(2500):
        usage.add(event(n))

    assert usage.flush() == 2500

    assert [len(batch) for batch in portal.batches] == [1000, 1000, 500]
    assert portal.batches[0][0] == "appel-0"
    assert portal.batches[2][-1] == "appel-2499"
    assert len(usage.spool) == 0


def test_a_full_batch_wakes_the_sender_before_the_interval(tmp_path, portal, clock):
    usage = reporter(tmp_path, portal, clock, batch_size=3)
    usage.add(event(1))
    usage.add(event(2))
    assert not usage._wake.is_set()

    usage.add(event(3))

    assert usage._wake.is_set()


def test_portal_down_keeps_the_events_and_retries_with_backoff_then_sends_them_once(
    tmp_path, portal, clock
):
    usage = reporter(tmp_path, portal, clock, flush_seconds=1.0, retry_max_seconds=4.0)
    portal.down = True
    usage.add(event(1))
    usage.add(event(2))

    assert usage.flush() == 0
    assert usage.retry_at == 1001.0
    clock.now = 1001.0
    usage.flush()
    assert usage.retry_at == 1003.0
    clock.now = 1003.0
    usage.flush()
    clock.now = 1007.0
    usage.flush()
    assert usage.retry_at == 1011.0  # never more than retry_max_seconds apart
    assert len(usage.spool) == 2

    portal.down = False
    clock.now = 1010.0
    assert usage.flush() == 0  # still backing off
    clock.now = 1011.0
    assert usage.flush() == 2

    assert portal.charged == {"appel-1": 1, "appel-2": 1}
    assert usage.retry_at == 0.0
    assert usage.failures == 0


def test_a_restart_resends_the_spool_with_the_same_idempotency_keys(tmp_path, portal, clock):
    portal.down = True
    first = reporter(tmp_path, portal, clock)
    first.add(event(1))
    first.add(event(2))
    first.flush()
    first.spool.close()  # the gateway process dies here

    portal.down = False
    second = reporter(tmp_path, portal, clock)

    assert second.flush() == 2
    assert portal.batches == [["appel-1", "appel-2"]]


def test_duplicates_count_as_done_when_an_answer_was_lost(tmp_path, portal, clock):
    portal.charged["appel-1"] = 1  # the portal charged it, but the answer never came back
    usage = reporter(tmp_path, portal, clock)
    usage.add(event(1))

    assert usage.flush() == 1

    assert portal.charged == {"appel-1": 1}
    assert len(usage.spool) == 0


def test_rejected_events_are_logged_with_their_reason_and_not_retried(
    tmp_path, portal, clock, caplog
):
    portal.reject["appel-2"] = "Modèle inconnu : « gpt-0 »."
    usage = reporter(tmp_path, portal, clock)
    for n in (1, 2, 3):
        usage.add(event(n))

    with caplog.at_level(logging.ERROR, logger="gateway.usage"):
        usage.flush()
    usage.flush()

    assert portal.batches == [["appel-1", "appel-2", "appel-3"]]
    assert "Modèle inconnu : « gpt-0 »." in caplog.text
    assert "appel-2" in caplog.text
    assert len(usage.spool) == 0


def test_the_background_thread_sends_what_is_added_and_stop_flushes_the_rest(tmp_path, portal):
    usage = UsageReporter(
        spool=Spool(tmp_path / "spool.jsonl"), send=portal.send, batch_size=2, flush_seconds=60
    )
    usage.start()
    usage.add(event(1))
    usage.add(event(2))  # a full batch: sent without waiting for the minute
    usage.add(event(3))

    usage.stop()

    assert sorted(portal.charged) == ["appel-1", "appel-2", "appel-3"]
