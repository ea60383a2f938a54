"""The LiteLLM hooks, called directly, with the portal answered by httpx's mock transport."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx", reason="httpx vient avec le groupe gateway")
pytest.importorskip("litellm", reason="LiteLLM n'est pas installé (pip install -e '.[gateway]')")

from litellm.proxy._types import ProxyException  # noqa: E402

from gateway import litellm_plugin  # noqa: E402
from gateway.auth_cache import AuthCache  # noqa: E402
from gateway.portal import PortalClient  # noqa: E402
from gateway.settings import GatewaySettings  # noqa: E402


class Portal:
    def __init__(self):
        self.answers: dict[str, dict] = {}
        self.asked: list[str] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused")
        key = json.loads(request.content)["api_key"]
        self.asked.append(key)
        return httpx.Response(200, json=self.answers[key])


class Runtime:
    def __init__(self, portal: Portal):
        settings = GatewaySettings.from_env()
        self.portal = PortalClient(settings, async_transport=httpx.MockTransport(portal.handler))
        self.cache = AuthCache(allow_seconds=5, refusal_seconds=2, stale_allow_seconds=900)
        self.keys: dict[str, str] = {}


@pytest.fixture
def portal(monkeypatch):
    portal = Portal()
    monkeypatch.setattr(litellm_plugin, "_runtime", Runtime(portal))
    return portal


def auth(key: str):
    # In a thread of its own: another test of the session may leave an event loop running here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, litellm_plugin.user_api_key_auth(None, key)).result()


def refused(key: str) -> ProxyException:
    with pytest.raises(ProxyException) as caught:
        auth(key)
    return caught.value


def test_an_allowed_key_is_passed_to_litellm_as_a_hash_never_in_clear(portal):
    portal.answers["iaf_good"] = {"allowed": True, "reason": None, "message": "ok"}

    granted = auth("Bearer iaf_good")

    assert granted.api_key == litellm_plugin.key_hash("iaf_good")
    assert "iaf_good" not in granted.api_key
    assert litellm_plugin._runtime.keys[granted.api_key] == "iaf_good"


def test_the_portal_is_asked_once_per_key_while_the_answer_is_fresh(portal):
    portal.answers["iaf_good"] = {"allowed": True, "reason": None, "message": "ok"}

    for _ in range(5):
        auth("iaf_good")

    assert portal.asked == ["iaf_good"]


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("unknown_key", "401"),
        ("revoked_key", "401"),
        ("no_credits", "402"),
        ("unpaid_invoice", "402"),
    ],
)
def test_a_refusal_becomes_an_openai_error_with_the_portal_reason_and_message(
    portal, reason, status
):
    portal.answers["iaf_k"] = {"allowed": False, "reason": reason, "message": "Message du portail."}

    error = refused("iaf_k")

    assert error.code == status
    assert error.type == reason
    assert error.message == "Message du portail."


def test_a_key_that_is_not_an_iafactory_key_is_refused_without_asking_the_portal(portal):
    assert refused("sk-openai-key").code == "401"
    assert refused("").type == "missing_key"
    assert portal.asked == []


def test_portal_down_serves_a_recently_allowed_key_and_refuses_an_unknown_one_with_503(portal):
    portal.answers["iaf_good"] = {"allowed": True, "reason": None, "message": "ok"}
    auth("iaf_good")
    litellm_plugin._runtime.cache.allow_seconds = 0  # the fresh answer has expired
    portal.down = True

    assert auth("iaf_good").api_key == litellm_plugin.key_hash("iaf_good")
    error = refused("iaf_never_seen")
    assert error.code == "503"
    assert error.type == "portal_unavailable"


def test_a_chat_call_becomes_one_event_with_the_counted_tokens_and_start_time():
    kwargs = {
        "standard_logging_object": {
            "id": "chatcmpl-1",
            "call_type": "acompletion",
            "model": "openai/gpt-4.1",
            "model_group": "gpt-4.1",
            "prompt_tokens": 120000,
            "completion_tokens": 45000,
            "startTime": 1795000000.25,
            "metadata": {"user_api_key_hash": "iafh_abc"},
        }
    }

    event = litellm_plugin.usage_event(kwargs, None)

    assert event == {
        "idempotency_key": "chatcmpl-1",
        "model": "gpt-4.1",
        "_key_hash": "iafh_abc",
        "occurred_at": "2026-11-18T11:06:40.250000+00:00",
        "input_tokens": 120000,
        "output_tokens": 45000,
    }


def test_an_image_call_counts_the_images_returned():
    kwargs = {
        "standard_logging_object": {
            "id": "img-1",
            "call_type": "aimage_generation",
            "model_group": "flux-schnell",
            "startTime": 1795000000,
            "metadata": {"user_api_key_hash": "iafh_abc"},
        }
    }

    event = litellm_plugin.usage_event(kwargs, {"data": [{"url": "a"}, {"url": "b"}]})

    assert event["images"] == 2
    assert "input_tokens" not in event
