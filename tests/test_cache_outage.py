"""A dead or hung Redis cache never stops metering, the API or the pages (issue 9 §1).

A real redis-server is started on a spare port, then stopped (dead) or SIGSTOPped (hung).
"""

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
import redis
from allauth.account.models import EmailAddress
from django.core.cache import cache
from rest_framework.test import APIClient

import iafactory.cache
from billing.models import UsageEvent
from catalog.models import Plan
from tests.accounts.factories import PASSWORD, AccountFactory, ApiKeyFactory
from tests.catalog.factories import PlanFactory

REDIS_SERVER = shutil.which("redis-server")

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]

NOW = "2026-11-16 10:00 +01:00"


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    def __init__(self, data_dir=None) -> None:
        self.data_dir = data_dir  # kept across restarts (append-only file) when given
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.paused = False

    def start(self) -> None:
        persistence = ["--appendonly", "no"]
        if self.data_dir is not None:
            persistence = ["--appendonly", "yes", "--appendfsync", "always"]
            persistence += ["--dir", str(self.data_dir)]
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(  # noqa: S603
            [*command, *persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
            finally:
                client.close()

    def stop(self) -> None:
        if self.paused:
            self.resume()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def keys(self) -> list[str]:
        client = redis.Redis(port=self.port, decode_responses=True)
        try:
            return client.keys("*")
        finally:
            client.close()


def cache_settings(url: str, retry_seconds: float = 0) -> dict:
    return {
        "default": {
            "BACKEND": "iafactory.cache.FailOpenRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "iaf",
            "OPTIONS": {
                "socket_connect_timeout": 0.2,
                "socket_timeout": 0.2,
                "RETRY_SECONDS": retry_seconds,
            },
        }
    }


@pytest.fixture
def redis_server():
    server = RedisProcess()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(redis_server, settings):
    """The default cache on the test's own Redis (settings change → Django resets caches)."""
    iafactory.cache._outages.clear()
    settings.CACHES = cache_settings(redis_server.url)
    settings.REDIS_URL = redis_server.url
    yield redis_server
    iafactory.cache._outages.clear()


@pytest.fixture
def key():
    plan = PlanFactory(included_credits=Decimal("100"))
    return ApiKeyFactory(account=AccountFactory(subscription__plan=plan))


def event(key, idem):
    return {
        "idempotency_key": idem,
        "api_key": key.raw,
        "model": "gpt-4.1",
        "input_tokens": 500,
        "output_tokens": 1500,
    }


def exercise_everything(client, gateway, key, idem):
    """Every path the issue lists; returns {what: status} and the usage answer."""
    customer = APIClient()
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
    usage = gateway.post("/api/v1/gateway/usage/", {"events": [event(key, idem)]}, format="json")
    authorize = gateway.post("/api/v1/gateway/authorize/", {"api_key": key.raw}, format="json")
    statuses = {
        "usage": usage.status_code,
        "authorize": authorize.status_code,
        "account": customer.get("/api/v1/account/").status_code,
        "plans": client.get("/api/v1/plans/").status_code,
        "models": client.get("/api/v1/models/").status_code,
        "tarifs": client.get("/tarifs/").status_code,
    }
    return statuses, usage.json(), authorize.json()


EVERYTHING_OK = {
    "usage": 200,
    "authorize": 200,
    "account": 200,
    "plans": 200,
    "models": 200,
    "tarifs": 200,
}


def log_in(client, user):
    return client.post("/comptes/login/", {"login": user.email, "password": PASSWORD})


def verified_owner(key):
    user = key.account.owner
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_the_cache_really_is_the_test_redis_while_it_runs(
    redis_cache, client, gateway, key, freeze
):
    freeze(NOW)

    statuses, _, _ = exercise_everything(client, gateway, key, "avant")

    assert statuses == EVERYTHING_OK
    keys = redis_cache.keys()
    assert any(":rl:gateway:" in k for k in keys)
    assert any(":catalog:tarifs:" in k for k in keys)


def test_with_redis_stopped_metering_the_api_the_pages_and_log_in_answer_normally(
    redis_cache, client, gateway, key, freeze
):
    freeze(NOW)
    user = verified_owner(key)
    exercise_everything(client, gateway, key, "avant")
    redis_cache.stop()

    statuses, usage, authorize = exercise_everything(client, gateway, key, "pendant")
    login = log_in(client, user)
    pages = [client.get(path).status_code for path in ("/espace-client/", "/espace-client/api/")]

    assert statuses == EVERYTHING_OK
    assert usage["results"] == [
        {"idempotency_key": "pendant", "status": "accepted", "cost": "1.625"}
    ]
    assert authorize["allowed"] is True
    assert authorize["remaining_credits"] == "96.75"
    assert UsageEvent.objects.filter(idempotency_key="pendant").get().cost == Decimal("1.625")
    assert (login.status_code, login["Location"]) == (302, "/espace-client/")
    assert pages == [200, 200]


def test_with_redis_hung_everything_answers_normally_and_usage_is_recorded(
    redis_cache, settings, client, gateway, key, freeze
):
    freeze(NOW)
    settings.CACHES = cache_settings(redis_cache.url, retry_seconds=5)
    user = verified_owner(key)
    redis_cache.pause()

    statuses, usage, _ = exercise_everything(client, gateway, key, "fige")
    login = log_in(client, user)

    assert statuses == EVERYTHING_OK
    assert usage["accepted"] == 1
    assert UsageEvent.objects.get(idempotency_key="fige").cost == Decimal("1.625")
    assert (login.status_code, login["Location"]) == (302, "/espace-client/")


def test_the_outage_is_logged_once_not_per_request(redis_cache, client, gateway, key, caplog):
    redis_cache.stop()

    with caplog.at_level(logging.WARNING, logger="iafactory.cache"):
        for number in range(10):
            exercise_everything(client, gateway, key, f"e{number}")

    warnings = [r for r in caplog.records if r.name == "iafactory.cache"]
    assert len(warnings) == 1
    assert "Cache Redis injoignable" in warnings[0].getMessage()
    assert UsageEvent.objects.count() == 10


def test_the_warning_comes_back_after_a_minute_of_outage(redis_cache, caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(iafactory.cache.time, "monotonic", lambda: clock[0])
    redis_cache.stop()

    with caplog.at_level(logging.WARNING, logger="iafactory.cache"):
        cache.get("a")
        clock[0] += 59
        cache.get("b")
        clock[0] += 1
        cache.get("c")

    assert len([r for r in caplog.records if r.name == "iafactory.cache"]) == 2


def test_rate_limits_fail_open_while_redis_is_down_and_count_again_once_it_is_back(
    redis_cache, settings, key
):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "customer": "2/m"}
    customer = APIClient()
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
    redis_cache.stop()

    during = [customer.get("/api/v1/account/").status_code for _ in range(5)]
    redis_cache.start()
    after = [customer.get("/api/v1/account/").status_code for _ in range(3)]

    assert during == [200] * 5
    assert after == [200, 200, 429]


def test_log_in_rate_limits_work_again_once_redis_is_back(redis_cache, settings, client, key):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "1/5m/ip"}
    user = verified_owner(key)
    redis_cache.stop()
    down = [
        client.post("/comptes/login/", {"login": user.email, "password": "faux"}) for _ in range(2)
    ]
    redis_cache.start()
    client.post("/comptes/login/", {"login": user.email, "password": "faux"})

    refused = log_in(client, user)

    # While down: the form again with its error, the failures not counted.
    assert [response.status_code for response in down] == [200, 200]
    assert "Trop de tentatives" not in down[1].content.decode()
    assert "Trop de tentatives de connexion échouées" in refused.content.decode()


class SilentServer:
    """Accepts TCP connections and never answers: a hung Redis. Counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def test_after_a_failure_a_hung_redis_is_left_alone_for_the_retry_window(
    settings, client, gateway, key, freeze
):
    freeze(NOW)
    server = SilentServer()
    iafactory.cache._outages.clear()
    settings.CACHES = cache_settings(server.url, retry_seconds=60)
    try:
        results = [exercise_everything(client, gateway, key, f"h{n}")[0] for n in range(5)]
    finally:
        server.close()
        iafactory.cache._outages.clear()

    assert results == [EVERYTHING_OK] * 5
    # One call timed out; the other ~40 cache operations never touched the socket.
    assert len(server.accepted) == 1
    assert UsageEvent.objects.count() == 5


def test_a_catalog_edit_made_while_redis_was_down_is_shown_once_it_is_back(
    settings, client, tmp_path
):
    # A Redis that keeps its data across the restart, as in production.
    server = RedisProcess(data_dir=tmp_path)
    server.start()
    iafactory.cache._outages.clear()
    settings.CACHES = cache_settings(server.url)
    try:
        client.get("/tarifs/")  # the snapshot is cached
        server.stop()
        starter = Plan.objects.get(slug="starter")
        starter.name = "Starter Renouvelée"
        starter.save()  # the cache invalidation is lost
        server.start()

        page = client.get("/tarifs/").content.decode()
    finally:
        server.stop()
        iafactory.cache._outages.clear()

    assert "Starter Renouvelée" in page


def test_healthz_reports_redis_down_while_the_rest_works(redis_cache, client):
    redis_cache.stop()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "error"}


def test_production_settings_use_the_fail_open_cache_with_short_timeouts():
    code = (
        "import json, iafactory.settings as s; print(json.dumps(s.CACHES['default'])); "
        "print(json.dumps(s.SESSION_ENGINE if hasattr(s, 'SESSION_ENGINE') else None))"
    )
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/0"}
    env.pop("CACHE", None)
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    default = json.loads(out[0])

    assert default["BACKEND"] == "iafactory.cache.FailOpenRedisCache"
    assert default["OPTIONS"]["socket_connect_timeout"] <= 0.25
    assert default["OPTIONS"]["socket_timeout"] <= 0.25
    # Sessions stay in the database (Django's default), never in the cache.
    assert json.loads(out[1]) in (None, "django.contrib.sessions.backends.db")


def test_failed_authentications_fail_open_while_redis_is_down_and_count_again_after(
    redis_cache, settings, client, freeze
):
    freeze(NOW)
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "auth_failures": "2/m"}
    bad = {"HTTP_AUTHORIZATION": "Bearer iaf_faux"}
    redis_cache.stop()

    during = [client.get("/api/v1/account/", **bad).status_code for _ in range(4)]
    redis_cache.start()
    after = [client.get("/api/v1/account/", **bad).status_code for _ in range(3)]

    assert during == [401] * 4
    assert after == [401, 401, 429]
