"""A real LiteLLM proxy with this plugin, beside a real portal, called with the official client.

The proxy's mock responses stand in for the providers: every chat call counts 120 000 input and
45 000 output tokens (gpt-4.1: 30 + 45 = 75 DZD), every image call returns one image (flux-schnell:
8 DZD). LiteLLM's image mock always returns exactly one image, whatever `n` asks.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError

pytest.importorskip("litellm", reason="LiteLLM n'est pas installé (pip install -e '.[gateway]')")
openai = pytest.importorskip("openai", reason="le client openai n'est pas installé")
httpx = pytest.importorskip("httpx", reason="httpx vient avec le client openai")

from accounts.models import ApiKey  # noqa: E402
from accounts.services import api_key_create, api_key_revoke  # noqa: E402
from billing.models import UsageEvent  # noqa: E402
from gateway.config import build_config, write_config  # noqa: E402

from .tcp_switch import TcpSwitch, _free_port  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
INPUT_TOKENS, OUTPUT_TOKENS = 120_000, 45_000
CHAT_COST = Decimal("75")  # gpt-4.1: 120 000 × 250 / 1e6 + 45 000 × 1 000 / 1e6
IMAGE_COST = Decimal("8")  # flux-schnell
PROXY_START_SECONDS = 240  # LiteLLM imports slowly on a busy machine
WAIT_SECONDS = 60


def last_line(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def customer(email: str, plan: str, payg: str) -> str:
    return last_line("create_demo_customer", "--email", email, "--plan", plan, "--payg", payg)


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OperationalError:  # SQLite: the live server's write transaction holds the table
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"toujours pas vrai après {WAIT_SECONDS} s : {what}")


def charged(**filters) -> int:
    return UsageEvent.objects.filter(**filters).count()


class Proxy:
    def __init__(self, *, portal_url: str, token: str, workdir: Path):
        self.port = _free_port()
        self.spool_dir = workdir / "spool"
        self.log = workdir / "proxy.log"
        models = httpx.get(f"{portal_url}/api/v1/models/").json()
        config = workdir / "litellm.yaml"
        write_config(config, build_config(models, upstreams=None, mock=True))
        # The portal's DATABASE_URL and REDIS_URL would switch on LiteLLM's own database and cache.
        inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env = inherited | {
            "PYTHONPATH": str(ROOT),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_MASTER_KEY": "sk-test-" + os.urandom(16).hex(),
            "DEFAULT_MOCK_RESPONSE_PROMPT_TOKEN_COUNT": str(INPUT_TOKENS),
            "DEFAULT_MOCK_RESPONSE_COMPLETION_TOKEN_COUNT": str(OUTPUT_TOKENS),
            "IAF_PORTAL_URL": portal_url,
            "IAF_GATEWAY_TOKEN": token,
            "IAF_SPOOL_DIR": str(self.spool_dir),
            "IAF_AUTH_CACHE_SECONDS": "0",  # each call asks the portal: the refusal is exact
            "IAF_USAGE_FLUSH_SECONDS": "0.2",
            "IAF_USAGE_RETRY_MAX_SECONDS": "0.5",
            "IAF_PORTAL_TIMEOUT_SECONDS": "5",
        }
        litellm = shutil.which("litellm", path=str(Path(sys.executable).parent))
        command = [
            litellm,
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command, env=env, cwd=workdir, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + PROXY_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"le proxy LiteLLM s'est arrêté :\n{self.log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        self.stop()
        raise AssertionError(f"le proxy LiteLLM n'a pas démarré :\n{self.log.read_text()[-3000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str):
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0)

    def spooled(self) -> list[str]:
        pending: dict[str, None] = {}
        for path in self.spool_dir.glob("spool-*.jsonl"):
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record["op"] == "event":
                    pending[record["event"]["idempotency_key"]] = None
                else:
                    for key in record["keys"]:
                        pending.pop(key, None)
        return list(pending)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def chat(client):
    return client.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "Bonjour"}]
    )


def refusal(call) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as caught:
        call()
    return caught.value


def account_consumed(portal_url: str, key: str) -> Decimal:
    response = httpx.get(
        f"{portal_url}/api/v1/account/", headers={"Authorization": f"Bearer {key}"}
    )
    return Decimal(response.json()["credits"]["consumed"])


def test_calls_through_the_litellm_proxy_are_served_refused_and_charged_exactly(
    live_server, tmp_path
):
    switch = TcpSwitch("127.0.0.1", int(live_server.url.rsplit(":", 1)[1]))
    switch.up()
    token = last_line("create_gateway_token", "passerelle-e2e")
    standard_key = customer("standard@example.dz", "standard", "on")
    starter_key = customer("starter@example.dz", "starter", "off")
    standard = ApiKey.objects.get(account__owner__email="standard@example.dz")
    revoked, revoked_key = api_key_create(account=standard.account, name="ancienne")
    api_key_revoke(account=standard.account, key_id=revoked.pk)
    proxy = Proxy(portal_url=switch.url, token=token, workdir=tmp_path)
    try:
        client = proxy.client(standard_key)

        # A chat completion and an image, served and charged at the catalog's prices.
        reply = chat(client)
        image = client.images.generate(model="flux-schnell", prompt="Un palmier à Biskra")
        assert reply.usage.prompt_tokens == INPUT_TOKENS
        assert reply.usage.completion_tokens == OUTPUT_TOKENS
        assert len(image.data) == 1
        wait_for(lambda: charged(account=standard.account) == 2, "les deux appels facturés")
        chat_event = UsageEvent.objects.get(account=standard.account, model__slug="gpt-4.1")
        image_event = UsageEvent.objects.get(account=standard.account, model__slug="flux-schnell")
        assert chat_event.idempotency_key == reply.id
        assert (chat_event.input_tokens, chat_event.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
        assert chat_event.cost == CHAT_COST
        assert chat_event.api_key_id == standard.pk
        assert abs(chat_event.occurred_at.timestamp() - reply.created) < 60
        assert (image_event.images, image_event.cost) == (1, IMAGE_COST)
        assert account_consumed(live_server.url, standard_key) == Decimal("83.00")

        # A revoked key, an unknown key: 401 with the reason.
        error = refusal(lambda: chat(proxy.client(revoked_key)))
        assert (error.status_code, error.body["type"]) == (401, "revoked_key")
        assert "révoquée" in error.body["message"]
        error = refusal(lambda: chat(proxy.client("iaf_inconnue")))
        assert (error.status_code, error.body["type"]) == (401, "unknown_key")

        # Starter (500 DZD of credits), pay-as-you-go off: 7 calls of 75 DZD, then refused.
        starter = proxy.client(starter_key)
        for served in range(1, 8):
            chat(starter)
            wait_for(
                lambda n=served: charged(api_key__account__owner__email="starter@example.dz") == n,
                f"appel Starter n° {served} facturé",
            )
        error = refusal(lambda: chat(starter))
        assert (error.status_code, error.body["type"]) == (402, "no_credits")
        assert error.body["message"]
        starter_events = UsageEvent.objects.filter(
            api_key__account__owner__email="starter@example.dz"
        )
        assert sum(e.credits for e in starter_events) == Decimal("500")
        assert sum(e.written_off for e in starter_events) == Decimal("25")
        assert sum(e.overage for e in starter_events) == 0

        # The portal stops: calls are still served, their usage waits in the spool...
        before = charged(account=standard.account)
        switch.down()
        served = [chat(client).id for _ in range(3)]
        wait_for(lambda: set(served) <= set(proxy.spooled()), "les 3 appels dans la file disque")
        assert charged(account=standard.account) == before

        # ... and is charged exactly once when the portal is back.
        switch.up()
        wait_for(lambda: charged(account=standard.account) == before + 3, "la file renvoyée")
        wait_for(lambda: proxy.spooled() == [], "la file vidée")
        events = UsageEvent.objects.filter(account=standard.account, idempotency_key__in=served)
        assert sorted(e.idempotency_key for e in events) == sorted(served)
        assert all(e.cost == CHAT_COST for e in events)
        time.sleep(1)  # a resend would land within a few flushes: none may add a row
        assert charged(account=standard.account) == before + 3
        assert account_consumed(live_server.url, standard_key) == Decimal("83.00") + 3 * CHAT_COST
    finally:
        proxy.stop()
        switch.down()
